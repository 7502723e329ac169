-- Promotion into the contact vault (seed: "Data Ingestion Flow", promotion step).

-- Completeness score, 0-100: what a campaign can rely on (seed default target: score >= 80).
-- email 40 + name 15 + title 15 + company 15 + LinkedIn 10 + phone 5.
create or replace function vault.f_contact_score(c vault.contacts) returns smallint
language sql immutable as $$
  select (40
    + case when coalesce(c.full_name, c.first_name, c.last_name) is not null then 15 else 0 end
    + case when c.title is not null then 15 else 0 end
    + case when coalesce(c.company_name, c.company_domain) is not null then 15 else 0 end
    + case when c.linkedin_url is not null then 10 else 0 end
    + case when c.phone is not null then 5 else 0 end)::smallint
$$;

create or replace function vault.t_contacts_score() returns trigger
language plpgsql as $$
begin
  new.score := vault.f_contact_score(new);
  return new;
end
$$;

drop trigger if exists contacts_score on vault.contacts;
create trigger contacts_score before insert or update on vault.contacts
  for each row execute function vault.t_contacts_score();

-- The contact fields a raw payload carries, in the shapes the sources send: flat
-- (manual imports, Apollo CSV after mapping) and Apollo's API person object.
create or replace function vault.f_contact_fields(raw jsonb) returns table (
  first_name text, last_name text, full_name text, title text, company_name text,
  company_domain text, phone text, linkedin_url text, city text, state text, country text
) language sql immutable as $$
  select nullif(btrim(raw ->> 'first_name'), ''),
         nullif(btrim(raw ->> 'last_name'), ''),
         nullif(btrim(coalesce(raw ->> 'name', raw ->> 'full_name')), ''),
         nullif(btrim(raw ->> 'title'), ''),
         nullif(btrim(coalesce(raw ->> 'company_name', raw ->> 'organization_name', raw -> 'organization' ->> 'name', raw ->> 'company')), ''),
         nullif(lower(btrim(coalesce(raw ->> 'company_domain', raw -> 'organization' ->> 'primary_domain'))), ''),
         nullif(btrim(coalesce(raw ->> 'phone', raw -> 'phone_numbers' -> 0 ->> 'sanitized_number')), ''),
         nullif(btrim(raw ->> 'linkedin_url'), ''),
         nullif(btrim(raw ->> 'city'), ''),
         nullif(btrim(raw ->> 'state'), ''),
         nullif(btrim(raw ->> 'country'), '')
$$;

-- Promote pending loads: valid ones upsert vault.contacts by normalized email (attributes merge,
-- status never touched), invalid ones become 'failed' with a reason. p_rejected_* carries
-- verdicts the caller reached outside SQL (disposable domain, no MX); syntax is checked here too,
-- so the function is safe to call on its own. Loads no longer pending (claimed by another
-- promotion) are left alone. Returns the seed's counts.
create or replace function vault.f_promote_contacts(
  p_load_ids         bigint[],
  p_rejected_ids     bigint[] default '{}',
  p_rejected_reasons text[] default '{}',
  p_actor            text default null,
  p_workflow_id      text default null
) returns table (promoted integer, updated integer, failed integer)
language plpgsql as $$
declare
  v_promoted integer := 0;
  v_updated  integer := 0;
  v_failed   integer := 0;
begin
  create temp table if not exists pg_temp.promote_batch (
    load_id bigint, email text, source text, raw jsonb, reason text
  ) on commit delete rows;
  truncate pg_temp.promote_batch;

  insert into pg_temp.promote_batch
  select l.load_id, l.email, l.source, l.raw,
         coalesce(rj.reason,
           case
             when l.email is null then 'missing_email'
             when l.email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:].]{2,}$' then 'invalid_email_syntax'
           end)
  from intake.raw_loads l
  left join unnest(p_rejected_ids, p_rejected_reasons) as rj(load_id, reason) on rj.load_id = l.load_id
  where l.load_id = any(p_load_ids) and l.status = 'pending'
  for update of l;

  -- invalid: failed with a reason
  with f as (
    update intake.raw_loads l set status = 'failed', failure_reason = b.reason
    from pg_temp.promote_batch b
    where b.load_id = l.load_id and b.reason is not null
    returning l.load_id
  ) select count(*) into v_failed from f;

  -- valid: one upsert per email (the newest load of an email in this chunk wins; its older
  -- siblings are promoted into the same contact and count as updates)
  with newest as (
    select distinct on (b.email) b.*
    from pg_temp.promote_batch b where b.reason is null
    order by b.email, b.load_id desc
  ),
  upserted as (
    insert into vault.contacts as c (email, first_name, last_name, full_name, title, company_name,
      company_domain, phone, linkedin_url, city, state, country, source, first_load_id, last_load_id)
    select n.email, f.first_name, f.last_name, f.full_name, f.title, f.company_name,
           f.company_domain, f.phone, f.linkedin_url, f.city, f.state, f.country, n.source, n.load_id, n.load_id
    from newest n cross join lateral vault.f_contact_fields(n.raw) f
    on conflict (email) do update set
      first_name     = coalesce(excluded.first_name, c.first_name),
      last_name      = coalesce(excluded.last_name, c.last_name),
      full_name      = coalesce(excluded.full_name, c.full_name),
      title          = coalesce(excluded.title, c.title),
      company_name   = coalesce(excluded.company_name, c.company_name),
      company_domain = coalesce(excluded.company_domain, c.company_domain),
      phone          = coalesce(excluded.phone, c.phone),
      linkedin_url   = coalesce(excluded.linkedin_url, c.linkedin_url),
      city           = coalesce(excluded.city, c.city),
      state          = coalesce(excluded.state, c.state),
      country        = coalesce(excluded.country, c.country),
      last_load_id   = excluded.last_load_id,
      version        = c.version + 1,
      updated_at     = now()
    returning c.contact_id, c.email, (xmax = 0) as created
  ),
  marked as (
    update intake.raw_loads l
    set status = 'promoted', promoted_at = now(), contact_id = u.contact_id
    from pg_temp.promote_batch b join upserted u on u.email = b.email
    where b.load_id = l.load_id and b.reason is null
    returning l.load_id, u.contact_id, u.email, (u.created and l.load_id = (
      select max(b2.load_id) from pg_temp.promote_batch b2 where b2.email = u.email and b2.reason is null)) as created
  ),
  audited as (
    insert into intake.audit_log (actor, action, entity, entity_id, after, workflow_id)
    select p_actor, 'contact_promoted', 'contact', m.contact_id::text,
           jsonb_build_object('load_id', m.load_id, 'email', m.email, 'created', m.created), p_workflow_id
    from marked m
    returning 1
  )
  select count(*) filter (where m.created), count(*) filter (where not m.created)
  into v_promoted, v_updated
  from marked m;

  return query select v_promoted, v_updated, v_failed;
end
$$;
