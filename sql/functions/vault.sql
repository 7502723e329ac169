-- Promotion into the contact vault (seed: "Data Ingestion Flow", promotion step).

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
-- a chunk's loads with their payloads stay in memory (at the default 4 MB they spill to disk)
language plpgsql security definer set search_path = pg_catalog, pg_temp set work_mem = '64MB' as $$
declare
  v_failed integer;
  v_valid bigint[];
begin
  -- 1. Lock the chunk's pending loads; invalid ones fail with a reason; valid ones upsert
  --    vault.contacts, one row per email (the newest load of an email in the chunk wins).
  with batch as (
    select l.load_id, l.email, l.source, l.raw,
           coalesce(rj.reason,
             case
               when l.email is null then 'missing_email'
               when l.email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:].]{2,}$' then 'invalid_email_syntax'
             end) as reason
    -- one primary-key probe per load, locked, then tested for 'pending' outside the probe (offset
    -- 0). Joined or with the test inside, the planner, whose statistics lag a bulk import, reads
    -- the partial index of pending loads as nearly empty and scans all of it for each chunk:
    -- every load still pending, O(pending) per chunk, quadratic over an import.
    from unnest(p_load_ids) as ids(load_id)
    cross join lateral (select r.* from intake.raw_loads r where r.load_id = ids.load_id offset 0 for update) l
    left join unnest(p_rejected_ids, p_rejected_reasons) as rj(load_id, reason) on rj.load_id = l.load_id
    where l.status = 'pending'
  ),
  failed as (
    update intake.raw_loads l set status = 'failed', failure_reason = b.reason
    from batch b
    where b.load_id = l.load_id and b.reason is not null
    returning l.load_id
  ),
  newest as (
    select distinct on (b.email) b.*
    from batch b where b.reason is null
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
    -- a load that adds nothing new writes nothing (re-importing the same rows leaves the vault as
    -- it was: version, updated_at and last_load_id name the last load that changed the contact)
    where (c.first_name, c.last_name, c.full_name, c.title, c.company_name, c.company_domain, c.phone, c.linkedin_url,
           c.city, c.state, c.country)
          is distinct from
          (coalesce(excluded.first_name, c.first_name), coalesce(excluded.last_name, c.last_name),
           coalesce(excluded.full_name, c.full_name), coalesce(excluded.title, c.title),
           coalesce(excluded.company_name, c.company_name), coalesce(excluded.company_domain, c.company_domain),
           coalesce(excluded.phone, c.phone), coalesce(excluded.linkedin_url, c.linkedin_url),
           coalesce(excluded.city, c.city), coalesce(excluded.state, c.state), coalesce(excluded.country, c.country))
    returning 1
  )
  -- (data-modifying CTEs run whether or not the outer query reads them)
  select (select count(*) from failed), (select coalesce(array_agg(b.load_id), '{}') from batch b where b.reason is null)
  into v_failed, v_valid;

  -- 2. The valid loads (pending, locked above and still ours) are marked promoted, linked to
  --    their contact through the email index (a join on the CTE above would be planned blind),
  --    each found by its primary key (no test of status here, for the reason in 1).
  --    A load "created" its contact when it is the contact's first load.
  return query
  with marked as (
    update intake.raw_loads l
    set status = 'promoted', promoted_at = now(), contact_id = c.contact_id
    from unnest(v_valid) as ids(load_id), vault.contacts c
    where l.load_id = ids.load_id and c.email = l.email
    returning l.load_id, c.contact_id, c.email, (c.first_load_id = l.load_id) as created
  ),
  audited as (
    insert into intake.audit_log (actor, action, entity, entity_id, after, workflow_id)
    select p_actor, 'contact_promoted', 'contact', m.contact_id::text,
           jsonb_build_object('load_id', m.load_id, 'email', m.email, 'created', m.created), p_workflow_id
    from marked m
  )
  select (count(*) filter (where m.created))::integer, (count(*) filter (where not m.created))::integer, v_failed
  from marked m;
end
$$;

-- A contact locked to the end of the transaction, for an edit that checks its version first (a
-- FOR UPDATE needs an UPDATE right the processes' role does not have).
create or replace function vault.f_lock_contact(p_contact_id bigint) returns setof vault.contacts
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select * from vault.contacts where contact_id = p_contact_id for update
$$;

-- A manual edit's new values (PATCH /api/contacts/:id; db/contacts.ts has checked the versions,
-- under f_lock_contact, and normalized the values): the named text fields, the version bumped,
-- and the 'contact_updated' audit row with the changed fields and versions before and after.
-- Runs as the owner, so the processes' role writes neither vault.contacts nor the audit log.
create or replace function vault.f_edit_contact(p_contact_id bigint, p_values jsonb, p_actor text) returns setof vault.contacts
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_editable constant text[] := array['first_name', 'last_name', 'full_name', 'title', 'company_name', 'company_domain',
                                      'phone', 'linkedin_url', 'city', 'state', 'country', 'status'];
  v_keys text[] := array(select jsonb_object_keys(p_values));
  v_before vault.contacts;
  v_after vault.contacts;
begin
  if exists (select 1 from unnest(v_keys) k where k <> all (v_editable)) then
    raise exception 'only % may be edited', array_to_string(v_editable, ', ') using errcode = 'invalid_parameter_value';
  end if;
  select * into v_before from vault.contacts where contact_id = p_contact_id for update;
  if not found then return; end if;
  execute format(
    'update vault.contacts c set %s, version = c.version + 1, updated_at = now() where c.contact_id = $1 returning c.*',
    (select string_agg(format('%I = $2 ->> %L', k, k), ', ') from unnest(v_keys) k))
    into v_after using p_contact_id, p_values;
  insert into intake.audit_log (actor, action, entity, entity_id, before, after)
  values (p_actor, 'contact_updated', 'contact', p_contact_id::text,
          (select jsonb_object_agg(k, to_jsonb(v_before) -> k) from unnest(v_keys || 'version'::text) k),
          (select jsonb_object_agg(k, to_jsonb(v_after) -> k) from unnest(v_keys || 'version'::text) k));
  return next v_after;
end
$$;

-- A bulk action's claim on its idempotency key (POST /api/contacts/bulk, db/contact-bulk.ts):
-- the new bulk_id, or null when a request with the key committed first.
create or replace function vault.f_claim_bulk_action(p_key text, p_request jsonb, p_action text, p_campaign_id bigint, p_actor text)
returns bigint language sql security definer set search_path = pg_catalog, pg_temp as $$
  insert into vault.contact_bulk_actions (idempotency_key, request, action, campaign_id, matched, affected, actor)
  values (p_key, p_request, p_action, p_campaign_id, 0, 0, p_actor)
  on conflict (idempotency_key) do nothing
  returning bulk_id
$$;

-- What a claimed bulk action did, and its contacts_bulk_<action> audit row (the request with the counts).
create or replace function vault.f_finish_bulk_action(p_bulk_id bigint, p_matched integer, p_affected integer, p_workflow_id text)
returns void language sql security definer set search_path = pg_catalog, pg_temp as $$
  with done as (
    update vault.contact_bulk_actions set matched = p_matched, affected = p_affected, workflow_id = p_workflow_id
     where bulk_id = p_bulk_id returning action, request
  )
  insert into intake.audit_log (action, entity, entity_id, before, after)
  select 'contacts_bulk_' || d.action, 'contact_bulk', p_bulk_id::text, null,
         d.request || jsonb_build_object('matched', p_matched, 'affected', p_affected, 'workflow_id', p_workflow_id)
    from done d
$$;

