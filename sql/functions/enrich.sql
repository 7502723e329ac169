-- Enrichment write-back: the one place enriched fields reach contact data. Per field, the value
-- of the first provider in the request's waterfall order that found one wins; it fills a field
-- the contact does not have yet (what people typed or imported is never overwritten). Exactly
-- once per request. The golden records get the same answers through f_stage_results_as_loads below.
create or replace function enrich.f_write_back_enrichment(
  p_request_id  text,
  p_actor       text default null,
  p_workflow_id text default null
) returns integer
language plpgsql as $$
declare
  v_done   integer;
  v_count  integer;
begin
  select written_back into v_done from enrich.requests where request_id = p_request_id for update;
  if v_done is not null then
    return v_done;
  end if;

  with waterfall as (
    select w.field, w.providers
    from enrich.requests r, jsonb_to_recordset(r.waterfall) as w(field text, providers text[])
    where r.request_id = p_request_id
  ), picked as (
    select res.contact_id, wf.field,
           (array_agg(res.fields ->> wf.field order by array_position(wf.providers, res.provider))
              filter (where nullif(res.fields ->> wf.field, '') is not null))[1] as value
    from enrich.results res
    join waterfall wf on res.provider = any (wf.providers)
    where res.request_id = p_request_id
    group by res.contact_id, wf.field
  ), per_contact as (
    select contact_id, jsonb_object_agg(field, value) as v
    from picked where value is not null group by contact_id
  ), before as (
    select c.contact_id, to_jsonb(c) as row_before, p.v
    from vault.contacts c join per_contact p using (contact_id)
  ), updated as (
    update vault.contacts c set
      first_name     = coalesce(c.first_name, b.v ->> 'first_name'),
      last_name      = coalesce(c.last_name, b.v ->> 'last_name'),
      title          = coalesce(c.title, b.v ->> 'title'),
      linkedin_url   = coalesce(c.linkedin_url, b.v ->> 'linkedin_url'),
      company_name   = coalesce(c.company_name, b.v ->> 'company_name'),
      company_domain = coalesce(c.company_domain, lower(b.v ->> 'company_domain')),
      city           = coalesce(c.city, b.v ->> 'city'),
      state          = coalesce(c.state, b.v ->> 'state'),
      country        = coalesce(c.country, b.v ->> 'country'),
      version        = c.version + 1,
      updated_at     = now()
    from before b
    where c.contact_id = b.contact_id
      and ((c.first_name is null and b.v ? 'first_name') or (c.last_name is null and b.v ? 'last_name')
        or (c.title is null and b.v ? 'title') or (c.linkedin_url is null and b.v ? 'linkedin_url')
        or (c.company_name is null and b.v ? 'company_name') or (c.company_domain is null and b.v ? 'company_domain')
        or (c.city is null and b.v ? 'city') or (c.state is null and b.v ? 'state') or (c.country is null and b.v ? 'country'))
    returning c.contact_id, to_jsonb(c) as row_after, b.row_before
  ), audited as (
    insert into intake.audit_log (actor, action, entity, entity_id, before, after, workflow_id)
    select p_actor, 'contact_enriched', 'vault.contacts', u.contact_id::text, u.row_before, u.row_after, p_workflow_id
    from updated u
    returning 1
  )
  select count(*)::int into v_count from audited;

  update enrich.requests set written_back = v_count, written_back_at = now() where request_id = p_request_id;
  return v_count;
end
$$;

-- Provider answers as source rows of the golden records: one promoted raw_load per
-- (contact, provider) in batch "enrich:<request_id>", already linked to its contact, so
-- people.f_resolve_loads turns them into people/company slots and lets survivorship (source
-- priority, recency, completeness) decide the masters, with field history. Staged once: a repeat
-- call for the same request inserts nothing and returns no load ids.
create or replace function enrich.f_stage_results_as_loads(p_request_id text) returns bigint[]
language sql as $$
  with staged as (
    insert into intake.raw_loads (batch_id, row_no, source, raw, email, status, contact_id, promoted_at)
    select 'enrich:' || p_request_id,
           (row_number() over (order by r.contact_id, r.provider))::integer,
           r.provider,
           (r.fields - 'profile') || jsonb_build_object('email', c.email),
           c.email, 'promoted', c.contact_id, now()
    from enrich.results r
    join vault.contacts c on c.contact_id = r.contact_id
    where r.request_id = p_request_id
    on conflict (batch_id, row_no) do nothing
    returning load_id
  )
  select coalesce(array_agg(load_id order by load_id), '{}') from staged
$$;
