-- The enrichment ledgers (enrich.requests, request_contacts, provider_calls, results) and the
-- intelligence they fill are written only by the functions here. Those run as their owner
-- (SECURITY DEFINER, search_path pinned, every name schema-qualified): the processes' role reads
-- the ledgers and cannot write them. Each is one step of db/enrich.ts, exactly once per request
-- or call, so a retried activity finds its step done or not done.

-- Records a request and the contacts it covers (the caller selects them: p_contact_ids); people
-- whose intelligence from one of its providers has not expired are marked skipped unless forced.
-- A repeat stores nothing and returns false.
create or replace function enrich.f_record_request(
  p_request_id    text,
  p_providers     text[],
  p_waterfall     jsonb,
  p_force         boolean,
  p_credit_budget integer,
  p_ttl_days      integer,
  p_actor         text,
  p_workflow_id   text,
  p_contact_ids   bigint[]
) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into enrich.requests (request_id, providers, waterfall, force, credit_budget, ttl_days, actor, workflow_id, planned_at)
  values (p_request_id, p_providers, p_waterfall, p_force, p_credit_budget, p_ttl_days, p_actor, p_workflow_id, now())
  on conflict (request_id) do nothing;
  if not found then
    return false;
  end if;
  insert into enrich.request_contacts (request_id, contact_id, skipped_fresh)
  select p_request_id, c.contact_id,
         not p_force and exists (select 1 from people.intelligence i
           where i.contact_id = c.contact_id and i.provider = any (p_providers) and i.expires_at > now())
  from vault.contacts c
  where c.contact_id = any (p_contact_ids)
  order by c.contact_id;
  return true;
end
$$;

-- One provider's calls of a round: p_chunks is a JSON array of contact-id arrays, chunk_no its index.
create or replace function enrich.f_plan_provider_calls(p_request_id text, p_provider text, p_round integer, p_chunks jsonb)
returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  insert into enrich.provider_calls (request_id, provider, round, chunk_no, contact_ids)
  select p_request_id, p_provider, p_round, t.ord - 1, array(select jsonb_array_elements_text(t.ids)::bigint)
  from jsonb_array_elements(p_chunks) with ordinality as t(ids, ord)
$$;

-- One provider call's state, locked to the end of the transaction (no row: no such call).
create or replace function enrich.f_lock_call(p_request_id text, p_provider text, p_round integer, p_chunk_no integer)
returns table (status text, credits_reserved integer)
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select pc.status, pc.credits_reserved
  from enrich.provider_calls pc
  where pc.request_id = p_request_id and pc.provider = p_provider and pc.round = p_round and pc.chunk_no = p_chunk_no
  for update
$$;

-- Reserves the most a call can cost from its request's budget, once per call (a retry finds the
-- reservation made). 'skipped': the budget cannot cover it, and the call is closed as
-- skipped_budget; 'closed': the call is no longer open; 'missing': no such call was planned.
create or replace function enrich.f_reserve_call_credits(
  p_request_id text, p_provider text, p_round integer, p_chunk_no integer, p_max_credits integer
) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_status   text;
  v_reserved integer;
begin
  select c.status, c.credits_reserved into v_status, v_reserved
  from enrich.f_lock_call(p_request_id, p_provider, p_round, p_chunk_no) c;
  if not found then
    return 'missing';
  end if;
  if v_status <> 'planned' then
    return 'closed';
  end if;
  if v_reserved is not null then
    return 'ok';
  end if;
  update enrich.requests set credits_reserved = credits_reserved + p_max_credits
  where request_id = p_request_id and (credit_budget is null or credits_reserved + p_max_credits <= credit_budget);
  if not found then
    update enrich.provider_calls set status = 'skipped_budget', credits_reserved = 0, done_at = now()
    where request_id = p_request_id and provider = p_provider and round = p_round and chunk_no = p_chunk_no;
    return 'skipped';
  end if;
  update enrich.provider_calls set credits_reserved = p_max_credits
  where request_id = p_request_id and provider = p_provider and round = p_round and chunk_no = p_chunk_no;
  return 'ok';
end
$$;

-- What a provider said about each contact of a request ([{contact_id, payload}], payload null on
-- a miss), kept for the request's TTL: one row per contact and provider, the newest answer wins.
create or replace function enrich.f_store_intelligence(p_request_id text, p_provider text, p_answers jsonb)
returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  insert into people.intelligence (contact_id, provider, matched, payload, request_id, fetched_at, expires_at)
  select a.contact_id, p_provider, a.payload is not null, a.payload, p_request_id, now(), now() + make_interval(days => r.ttl_days)
  from jsonb_to_recordset(p_answers) as a(contact_id bigint, payload jsonb)
  join enrich.requests r on r.request_id = p_request_id
  on conflict (contact_id, provider) do update set matched = excluded.matched, payload = excluded.payload,
    request_id = excluded.request_id, fetched_at = excluded.fetched_at, expires_at = excluded.expires_at
$$;

-- Stores one call's answers (p_answers: intelligence, p_matched: [{contact_id, fields}] of the
-- matches, for the waterfall) and closes the call, releasing the credits it did not use. Once per
-- call: false (nothing stored) when the call is no longer open.
create or replace function enrich.f_record_call_answers(
  p_request_id text, p_provider text, p_round integer, p_chunk_no integer,
  p_answers jsonb, p_matched jsonb, p_credits integer
) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_status   text;
  v_reserved integer;
begin
  select c.status, c.credits_reserved into v_status, v_reserved
  from enrich.f_lock_call(p_request_id, p_provider, p_round, p_chunk_no) c;
  if not found then
    raise exception 'no provider call % % round % chunk %', p_request_id, p_provider, p_round, p_chunk_no;
  end if;
  if v_status <> 'planned' then
    return false;
  end if;
  perform enrich.f_store_intelligence(p_request_id, p_provider, p_answers);
  insert into enrich.results (request_id, contact_id, provider, fields)
  select p_request_id, a.contact_id, p_provider, a.fields from jsonb_to_recordset(p_matched) as a(contact_id bigint, fields jsonb)
  on conflict (request_id, contact_id, provider) do update set fields = enrich.results.fields || excluded.fields;
  update enrich.provider_calls set status = 'done', matched = jsonb_array_length(p_matched), credits_used = p_credits, done_at = now()
  where request_id = p_request_id and provider = p_provider and round = p_round and chunk_no = p_chunk_no;
  update enrich.requests set credits_reserved = credits_reserved - coalesce(v_reserved, 0) + p_credits, credits_used = credits_used + p_credits
  where request_id = p_request_id;
  return true;
end
$$;

-- A provider branch gave up: its open calls of the round fail and release their credits.
-- Returns how many failed.
create or replace function enrich.f_fail_open_calls(p_request_id text, p_provider text, p_round integer, p_reason text)
returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_failed   integer;
  v_released integer;
begin
  with failed as (
    update enrich.provider_calls set status = 'failed', failure = p_reason, done_at = now()
    where request_id = p_request_id and provider = p_provider and round = p_round and status = 'planned'
    returning coalesce(credits_reserved, 0) as reserved
  )
  select count(*)::int, coalesce(sum(reserved), 0)::int into v_failed, v_released from failed;
  if v_released <> 0 then
    update enrich.requests set credits_reserved = credits_reserved - v_released where request_id = p_request_id;
  end if;
  return v_failed;
end
$$;

-- Enrichment write-back: the one place enriched fields reach contact data. Per field, the value
-- of the first provider in the request's waterfall order that found one wins; it fills a field
-- the contact does not have yet (what people typed or imported is never overwritten). Exactly
-- once per request. The golden records get the same answers through f_stage_results_as_loads below.
create or replace function enrich.f_write_back_enrichment(
  p_request_id  text,
  p_actor       text default null,
  p_workflow_id text default null
) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_done      integer;
  v_count     integer;
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
language sql security definer set search_path = pg_catalog, pg_temp as $$
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
