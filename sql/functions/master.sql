-- Golden records (seed: "Database Schema Layers", slots → masters → history).
-- Rules (documented in common/survivorship.ts, passed in as p_rules):
--   matching   people: normalized email (plus-tag dropped), then LinkedIn URL, then name + company domain.
--              companies: registrable domain, then LinkedIn URL, then normalized name (only for a slot
--              that has no domain: two companies called "Acme" on different domains stay apart).
--              Email/LinkedIn (people) and domain/LinkedIn (companies) are strong keys: when one slot's
--              strong keys point at two masters, those masters merge. Names never trigger a merge.
--   survivorship per field: source priority, then recency, then completeness.
-- Everything is set-based over a chunk of loads; a pass over 5,000 loads is a handful of statements.

create or replace function people.f_source_priority(p_rules jsonb, p_source text, p_field text) returns integer
language sql immutable parallel safe as $$
  select coalesce(
    (p_rules #>> array['fields', p_field, p_source])::integer,
    (p_rules #>> array['fields', p_field, split_part(translate(p_source, '-_.', ':::'), ':', 1)])::integer,
    (p_rules #>> array['priorities', p_source])::integer,
    (p_rules #>> array['priorities', split_part(translate(p_source, '-_.', ':::'), ':', 1)])::integer,
    (p_rules #>> array['priorities', '*'])::integer,
    0)
$$;

-- "Acme, Inc." / "ACME Inc" / "acme" → "acme": lower case, punctuation and legal suffixes dropped.
create or replace function company.f_name_key(p_name text) returns text
language sql immutable parallel safe as $$
  select nullif(btrim(regexp_replace(
    regexp_replace(lower(coalesce(p_name, '')), '[^[:alnum:][:space:]&]+', ' ', 'g'),
    '(\s+(inc|incorporated|llc|l l c|ltd|limited|gmbh|corp|corporation|co|company|plc|sa|ag|bv|nv|oy|ab|srl|pty))+\s*$', '', 'g')), '')
$$;

-- The people match key of an email: the mailbox without its plus-tag.
create or replace function people.f_email_key(p_email text) returns text
language sql immutable parallel safe as $$
  select regexp_replace(lower(p_email), '\+[^@]*@', '@')
$$;

-- The weak people key: "ada lovelace@acme.com" (name + company domain), when both are known.
create or replace function people.f_name_domain_key(p_first text, p_last text, p_full text, p_domain text) returns text
-- stable, as concat_ws is: a SQL function declared more constant than its body is never inlined
-- (it ran as a function call per row, 8 µs each)
language sql stable parallel safe as $$
  select lower(coalesce(nullif(btrim(concat_ws(' ', p_first, p_last)), ''), nullif(btrim(p_full), ''))) || '@' || lower(nullif(btrim(p_domain), ''))
$$;

-- A master's non-empty fields as one JSON object: what a creation record in history holds (the
-- history views turn it back into one row per field, each as to_jsonb of the value).
create or replace function people.f_person_fields(p_email text, p_first_name text, p_last_name text, p_full_name text,
  p_title text, p_headline text, p_seniority text, p_departments text, p_phone text, p_linkedin_url text, p_city text,
  p_state text, p_country text, p_company_id bigint) returns jsonb
-- stable, as jsonb_build_object is, so it is inlined (declared immutable it ran as a function call
-- per row, 23 µs each, three times per new person)
language sql stable parallel safe as $$
  select jsonb_strip_nulls(jsonb_build_object('email', p_email, 'first_name', p_first_name, 'last_name', p_last_name,
    'full_name', p_full_name, 'title', p_title, 'headline', p_headline, 'seniority', p_seniority, 'departments', p_departments,
    'phone', p_phone, 'linkedin_url', p_linkedin_url, 'city', p_city, 'state', p_state, 'country', p_country,
    'company_id', p_company_id))
$$;

create or replace function company.f_company_fields(p_name text, p_domain text, p_website text, p_linkedin_url text,
  p_industry text, p_employee_count integer, p_phone text, p_city text, p_state text, p_country text) returns jsonb
-- stable: inlined (see people.f_person_fields)
language sql stable parallel safe as $$
  select jsonb_strip_nulls(jsonb_build_object('name', p_name, 'domain', p_domain, 'website', p_website,
    'linkedin_url', p_linkedin_url, 'industry', p_industry, 'employee_count', p_employee_count, 'phone', p_phone,
    'city', p_city, 'state', p_state, 'country', p_country))
$$;

-- Canonical contact fields of a staged payload (written by common/source-mappings.ts), with the
-- older flat/Apollo-person spellings as fallbacks: one typed column each (a SQL function of one
-- SELECT, inlined where it is used; building them as one JSON object cost 60 µs a load).
create or replace function people.f_canonical_fields(raw jsonb) returns table (
  first_name text, last_name text, full_name text, title text, headline text, seniority text, departments text,
  phone text, linkedin_url text, city text, state text, country text, source_person_id text, company_name text,
  company_domain text, company_website text, company_linkedin_url text, company_industry text, company_employees integer,
  company_phone text, company_city text, company_state text, company_country text, source_company_id text
) language sql immutable parallel safe as $$
  select nullif(btrim(raw ->> 'first_name'), ''),
         nullif(btrim(raw ->> 'last_name'), ''),
         nullif(btrim(coalesce(raw ->> 'full_name', raw ->> 'name')), ''),
         nullif(btrim(raw ->> 'title'), ''),
         nullif(btrim(raw ->> 'headline'), ''),
         nullif(btrim(raw ->> 'seniority'), ''),
         case when jsonb_typeof(raw -> 'departments') = 'string' then nullif(btrim(raw ->> 'departments'), '') end,
         nullif(btrim(raw ->> 'phone'), ''),
         nullif(btrim(raw ->> 'linkedin_url'), ''),
         nullif(btrim(raw ->> 'city'), ''),
         nullif(btrim(raw ->> 'state'), ''),
         nullif(btrim(raw ->> 'country'), ''),
         nullif(btrim(raw ->> 'source_person_id'), ''),
         nullif(btrim(coalesce(raw ->> 'company_name', raw ->> 'organization_name', raw -> 'organization' ->> 'name')), ''),
         nullif(lower(btrim(coalesce(raw ->> 'company_domain', raw -> 'organization' ->> 'primary_domain'))), ''),
         nullif(btrim(raw ->> 'company_website'), ''),
         nullif(btrim(raw ->> 'company_linkedin_url'), ''),
         nullif(btrim(raw ->> 'company_industry'), ''),
         case when jsonb_typeof(raw -> 'company_employees') = 'number' then (raw ->> 'company_employees')::numeric::integer end,
         nullif(btrim(raw ->> 'company_phone'), ''),
         nullif(btrim(raw ->> 'company_city'), ''),
         nullif(btrim(raw ->> 'company_state'), ''),
         nullif(btrim(raw ->> 'company_country'), ''),
         nullif(btrim(raw ->> 'source_company_id'), '')
$$;

-- Survivorship for companies: each field of each listed master takes the winning slot value;
-- one history row per field whose value changes. Re-applying with unchanged slots is a no-op.
-- Returns how many masters changed.
create or replace function company.f_apply_survivorship(p_company_ids bigint[], p_rules jsonb, p_workflow_id text default null)
returns integer language plpgsql security definer set search_path = pg_catalog, pg_temp
-- JIT compiles each statement's (badly overestimated) plan for longer than it runs; a chunk's
-- candidate values (~12 per person) sort in memory, not in temp files
set jit = off set work_mem = '64MB' as $$
declare
  v_changed integer;
  v_fresh bigint[];
begin
  -- Fast path, the common case of a bulk import: a master this resolution has just created
  -- (version 1, nothing applied yet) with a single slot takes every non-empty field of that slot:
  -- what the general path below computes for it, without ranking candidate values. Its history is
  -- one creation record holding every first value (the history views show one row per field).
  with fresh as materialized (
    select s.*, jsonb_build_object('source', s.source, 'slot_id', s.slot_id, 'seen_at', s.seen_at) as origin
    from (select m.company_id from company.master m join company.slot s on s.company_id = m.company_id
          where m.company_id = any(p_company_ids) and m.version = 1 and m.field_sources = '{}' and m.merged_into is null
          group by m.company_id having count(*) = 1) f
    join company.slot s on s.company_id = f.company_id
  ),
  updated as (
    update company.master m set
      (name, domain, website, linkedin_url, industry, employee_count, phone, city, state, country) =
        (v.name, v.domain, v.website, v.linkedin_url, v.industry, v.employee_count, v.phone, v.city, v.state, v.country),
      field_sources = jsonb_strip_nulls(jsonb_build_object(
        'name', case when v.name is not null then v.origin end,
        'domain', case when v.domain is not null then v.origin end,
        'website', case when v.website is not null then v.origin end,
        'linkedin_url', case when v.linkedin_url is not null then v.origin end,
        'industry', case when v.industry is not null then v.origin end,
        'employee_count', case when v.employee_count is not null then v.origin end,
        'phone', case when v.phone is not null then v.origin end,
        'city', case when v.city is not null then v.origin end,
        'state', case when v.state is not null then v.origin end,
        'country', case when v.country is not null then v.origin end)),
      version = m.version + 1,
      updated_at = now()
    from fresh v
    where v.company_id = m.company_id
      and num_nonnulls(v.name, v.domain, v.website, v.linkedin_url, v.industry, v.employee_count, v.phone, v.city, v.state, v.country) > 0
    returning m.company_id
  ),
  logged as (
    insert into company.history_entries (company_id, action, field, old_value, new_value, source, slot_id, load_id, workflow_id)
    select v.company_id, 'create', '*', null, f.fields, v.source, v.slot_id, v.load_id, p_workflow_id
    from fresh v
    cross join lateral (select company.f_company_fields(v.name, v.domain, v.website, v.linkedin_url, v.industry, v.employee_count,
                                 v.phone, v.city, v.state, v.country) as fields) f
    where f.fields <> '{}'
  )
  select coalesce(array_agg(u.company_id), '{}') into v_fresh from updated u;
  p_company_ids := array(select unnest(p_company_ids) except select unnest(v_fresh));
  if cardinality(p_company_ids) = 0 then return cardinality(v_fresh); end if;

  -- the masters' slots, with what all fields of a slot share computed once per slot: completeness
  -- (how many fields it has) and its origin (what field_sources records for a value it wins)
  with slots as materialized (
    select s.*, num_nonnulls(s.name, s.domain, s.website, s.linkedin_url, s.industry, s.employee_count,
             s.phone, s.city, s.state, s.country) as completeness,
           jsonb_build_object('source', s.source, 'slot_id', s.slot_id, 'seen_at', s.seen_at) as origin
    from company.slot s where s.company_id in (select unnest(p_company_ids))
  ),
  cand as (
    select s.company_id, f.key as field, f.value, s.slot_id, s.source, s.load_id, s.seen_at, s.completeness, s.origin
    from slots s
    -- one row per non-empty field
    cross join lateral (values
        ('name', to_jsonb(s.name)), ('domain', to_jsonb(s.domain)), ('website', to_jsonb(s.website)),
        ('linkedin_url', to_jsonb(s.linkedin_url)), ('industry', to_jsonb(s.industry)),
        ('employee_count', to_jsonb(s.employee_count)), ('phone', to_jsonb(s.phone)),
        ('city', to_jsonb(s.city)), ('state', to_jsonb(s.state)), ('country', to_jsonb(s.country))) f(key, value)
    where f.value is not null
  ),
  -- priorities once per (source, field), not once per candidate value (materialized: inlined, the
  -- planner would compute the priority expression in the sort, once per candidate)
  priority as materialized (
    select k.source, k.field, people.f_source_priority(p_rules, k.source, k.field) as priority
    from (select distinct c.source, c.field from cand c) k
  ),
  winners as (
    select distinct on (c.company_id, c.field) c.*, p.priority from cand c join priority p using (source, field)
    order by c.company_id, c.field, p.priority desc, c.seen_at desc, c.completeness desc, c.slot_id desc
  ),
  current as materialized (  -- each master as jsonb once, not once per field
    select m.company_id, to_jsonb(m) as j from company.master m where m.company_id in (select unnest(p_company_ids))
  ),
  diffs as (
    select m.company_id, w.field, m.j -> w.field as old_value, w.value as new_value, w.source, w.slot_id, w.load_id
    from winners w join current m on m.company_id = w.company_id
    where (m.j -> w.field) is distinct from w.value
  ),
  changed as (select distinct d.company_id from diffs d),
  -- aggregated in master order (a sorted group aggregate: hashed, jsonb_object_agg keeps a memory
  -- context per master and runs several times slower)
  patches as (
    select a.company_id, a.vals, a.sources, c.company_id is not null as changed
    from (select w.company_id, jsonb_object_agg(w.field, w.value) as vals, jsonb_object_agg(w.field, w.origin) as sources
          from (select * from winners order by company_id) w
          group by w.company_id) a
    left join changed c on c.company_id = a.company_id
  ),
  updated as (
    update company.master m set
      (name, domain, website, linkedin_url, industry, employee_count, phone, city, state, country) =
        (select r.name, r.domain, r.website, r.linkedin_url, r.industry, r.employee_count, r.phone, r.city, r.state, r.country
         from jsonb_populate_record(null::company.master, to_jsonb(m) || p.vals) r),
      field_sources = p.sources,
      version = m.version + case when p.changed then 1 else 0 end,
      updated_at = case when p.changed then now() else m.updated_at end
    from patches p
    where p.company_id = m.company_id and (p.changed or m.field_sources is distinct from p.sources)
    returning m.company_id
  ),
  logged as (
    insert into company.history_entries (company_id, field, old_value, new_value, source, slot_id, load_id, workflow_id)
    select d.company_id, d.field, d.old_value, d.new_value, d.source, d.slot_id, d.load_id, p_workflow_id
    from diffs d order by d.company_id, d.field
  )
  select count(distinct d.company_id) into v_changed from diffs d;
  return v_changed + cardinality(v_fresh);
end
$$;

create or replace function people.f_apply_survivorship(p_person_ids bigint[], p_rules jsonb, p_workflow_id text default null)
returns integer language plpgsql security definer set search_path = pg_catalog, pg_temp
-- JIT compiles each statement's (badly overestimated) plan for longer than it runs; a chunk's
-- candidate values (~12 per person) sort in memory, not in temp files
set jit = off set work_mem = '64MB' as $$
declare
  v_changed integer;
  v_fresh bigint[];
begin
  -- Fast path, the common case of a bulk import: a master this resolution has just created
  -- (version 1, nothing applied yet) with a single slot takes every non-empty field of that slot:
  -- what the general path below computes for it, without ranking candidate values. Its history is
  -- one creation record holding every first value (the history views show one row per field).
  with fresh as materialized (
    select s.*, jsonb_build_object('source', s.source, 'slot_id', s.slot_id, 'seen_at', s.seen_at) as origin
    from (select m.person_id from people.master m join people.slot s on s.person_id = m.person_id
          where m.person_id = any(p_person_ids) and m.version = 1 and m.field_sources = '{}' and m.merged_into is null
          group by m.person_id having count(*) = 1) f
    join people.slot s on s.person_id = f.person_id
  ),
  updated as (
    update people.master m set
      (email, first_name, last_name, full_name, title, headline, seniority, departments, phone,
       linkedin_url, city, state, country, company_id) =
        (v.email, v.first_name, v.last_name, v.full_name, v.title, v.headline, v.seniority, v.departments, v.phone,
         v.linkedin_url, v.city, v.state, v.country, v.company_id),
      field_sources = jsonb_strip_nulls(jsonb_build_object(
        'email', case when v.email is not null then v.origin end,
        'first_name', case when v.first_name is not null then v.origin end,
        'last_name', case when v.last_name is not null then v.origin end,
        'full_name', case when v.full_name is not null then v.origin end,
        'title', case when v.title is not null then v.origin end,
        'headline', case when v.headline is not null then v.origin end,
        'seniority', case when v.seniority is not null then v.origin end,
        'departments', case when v.departments is not null then v.origin end,
        'phone', case when v.phone is not null then v.origin end,
        'linkedin_url', case when v.linkedin_url is not null then v.origin end,
        'city', case when v.city is not null then v.origin end,
        'state', case when v.state is not null then v.origin end,
        'country', case when v.country is not null then v.origin end,
        'company_id', case when v.company_id is not null then v.origin end)),
      version = m.version + 1,
      updated_at = now()
    from fresh v
    where v.person_id = m.person_id
      and num_nonnulls(v.email, v.first_name, v.last_name, v.full_name, v.title, v.headline, v.seniority, v.departments,
                       v.phone, v.linkedin_url, v.city, v.state, v.country, v.company_id) > 0
    returning m.person_id
  ),
  logged as (
    insert into people.history_entries (person_id, action, field, old_value, new_value, source, slot_id, load_id, workflow_id)
    select v.person_id, 'create', '*', null, f.fields, v.source, v.slot_id, v.load_id, p_workflow_id
    from fresh v
    cross join lateral (select people.f_person_fields(v.email, v.first_name, v.last_name, v.full_name, v.title, v.headline,
                                 v.seniority, v.departments, v.phone, v.linkedin_url, v.city, v.state, v.country, v.company_id) as fields) f
    where f.fields <> '{}'
  )
  select coalesce(array_agg(u.person_id), '{}') into v_fresh from updated u;
  p_person_ids := array(select unnest(p_person_ids) except select unnest(v_fresh));
  if cardinality(p_person_ids) = 0 then return cardinality(v_fresh); end if;

  with slots as materialized (  -- as in company.f_apply_survivorship
    select s.*, num_nonnulls(s.email, s.first_name, s.last_name, s.full_name, s.title, s.headline,
             s.seniority, s.departments, s.phone, s.linkedin_url, s.city, s.state, s.country, s.company_id) as completeness,
           jsonb_build_object('source', s.source, 'slot_id', s.slot_id, 'seen_at', s.seen_at) as origin
    from people.slot s where s.person_id in (select unnest(p_person_ids))
  ),
  cand as (
    select s.person_id, f.key as field, f.value, s.slot_id, s.source, s.load_id, s.seen_at, s.completeness, s.origin
    from slots s
    cross join lateral (values
        ('email', to_jsonb(s.email)), ('first_name', to_jsonb(s.first_name)), ('last_name', to_jsonb(s.last_name)),
        ('full_name', to_jsonb(s.full_name)), ('title', to_jsonb(s.title)), ('headline', to_jsonb(s.headline)),
        ('seniority', to_jsonb(s.seniority)), ('departments', to_jsonb(s.departments)), ('phone', to_jsonb(s.phone)),
        ('linkedin_url', to_jsonb(s.linkedin_url)), ('city', to_jsonb(s.city)), ('state', to_jsonb(s.state)),
        ('country', to_jsonb(s.country)), ('company_id', to_jsonb(s.company_id))) f(key, value)
    where f.value is not null
  ),
  -- priorities once per (source, field), not once per candidate value (materialized: inlined, the
  -- planner would compute the priority expression in the sort, once per candidate)
  priority as materialized (
    select k.source, k.field, people.f_source_priority(p_rules, k.source, k.field) as priority
    from (select distinct c.source, c.field from cand c) k
  ),
  winners as (
    select distinct on (c.person_id, c.field) c.*, p.priority from cand c join priority p using (source, field)
    order by c.person_id, c.field, p.priority desc, c.seen_at desc, c.completeness desc, c.slot_id desc
  ),
  current as materialized (  -- each master as jsonb once, not once per field
    select m.person_id, to_jsonb(m) as j from people.master m where m.person_id in (select unnest(p_person_ids))
  ),
  diffs as (
    select m.person_id, w.field, m.j -> w.field as old_value, w.value as new_value, w.source, w.slot_id, w.load_id
    from winners w join current m on m.person_id = w.person_id
    where (m.j -> w.field) is distinct from w.value
  ),
  changed as (select distinct d.person_id from diffs d),
  patches as (  -- a sorted group aggregate, as in company.f_apply_survivorship
    select a.person_id, a.vals, a.sources, c.person_id is not null as changed
    from (select w.person_id, jsonb_object_agg(w.field, w.value) as vals, jsonb_object_agg(w.field, w.origin) as sources
          from (select * from winners order by person_id) w
          group by w.person_id) a
    left join changed c on c.person_id = a.person_id
  ),
  updated as (
    update people.master m set
      (email, first_name, last_name, full_name, title, headline, seniority, departments, phone,
       linkedin_url, city, state, country, company_id) =
        (select r.email, r.first_name, r.last_name, r.full_name, r.title, r.headline, r.seniority, r.departments, r.phone,
                r.linkedin_url, r.city, r.state, r.country, r.company_id
         from jsonb_populate_record(null::people.master, to_jsonb(m) || p.vals) r),
      field_sources = p.sources,
      version = m.version + case when p.changed then 1 else 0 end,
      updated_at = case when p.changed then now() else m.updated_at end
    from patches p
    where p.person_id = m.person_id and (p.changed or m.field_sources is distinct from p.sources)
    returning m.person_id
  ),
  logged as (
    insert into people.history_entries (person_id, field, old_value, new_value, source, slot_id, load_id, workflow_id)
    select d.person_id, d.field, d.old_value, d.new_value, d.source, d.slot_id, d.load_id, p_workflow_id
    from diffs d order by d.person_id, d.field
  )
  select count(distinct d.person_id) into v_changed from diffs d;
  return v_changed + cardinality(v_fresh);
end
$$;

-- Merge company p_loser into p_survivor: slots, keys and people's company links move; the loser
-- stays as a tombstone (merged_into). The survivor's 'merge' history row holds the loser's
-- snapshot and every moved id, enough to reverse the merge by hand.
create or replace function company.f_merge(p_survivor bigint, p_loser bigint, p_rules jsonb, p_workflow_id text, p_reason jsonb)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp
-- JIT compiles each statement's (badly overestimated) plan for longer than it runs
set jit = off as $$
declare
  v_snapshot jsonb;
  v_slots bigint[];
  v_keys jsonb;
  v_people_slots bigint[];
  v_people bigint[];
begin
  if p_survivor = p_loser then return; end if;
  select to_jsonb(m) into v_snapshot from company.master m where m.company_id = p_loser and m.merged_into is null for update;
  if v_snapshot is null then return; end if;
  with moved as (update company.slot set company_id = p_survivor where company_id = p_loser returning slot_id)
  select coalesce(array_agg(slot_id order by slot_id), '{}') into v_slots from moved;
  with moved as (update company.master_key set company_id = p_survivor where company_id = p_loser returning kind, value)
  select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'value', value) order by kind, value), '[]') into v_keys from moved;
  with moved as (update people.slot set company_id = p_survivor where company_id = p_loser returning slot_id, person_id)
  select coalesce(array_agg(slot_id order by slot_id), '{}'), coalesce(array_agg(distinct person_id) filter (where person_id is not null), '{}')
  into v_people_slots, v_people from moved;
  update company.master set merged_into = p_survivor, version = version + 1, updated_at = now() where company_id = p_loser;
  update company.master set merged_into = p_survivor where merged_into = p_loser;

  insert into company.history_entries (company_id, action, field, old_value, new_value, workflow_id, details) values
    (p_survivor, 'merge', 'company_id', to_jsonb(p_loser), to_jsonb(p_survivor), p_workflow_id,
     jsonb_build_object('loser', v_snapshot, 'moved_slot_ids', to_jsonb(v_slots), 'moved_keys', v_keys,
                        'moved_people_slot_ids', to_jsonb(v_people_slots), 'reason', p_reason)),
    (p_loser, 'merged_into', 'merged_into', null, to_jsonb(p_survivor), p_workflow_id, jsonb_build_object('reason', p_reason));
  -- audited as the transaction's context names it: the promotion's actor (automatic) or the API key (by hand)
  perform intake.f_audit('company_merged', 'company', p_loser::text, jsonb_build_object('merged_into', null),
                         jsonb_build_object('merged_into', p_survivor, 'reason', p_reason));

  perform company.f_apply_survivorship(array[p_survivor], p_rules, p_workflow_id);
  perform people.f_apply_survivorship(v_people, p_rules, p_workflow_id);
end
$$;

create or replace function people.f_merge(p_survivor bigint, p_loser bigint, p_rules jsonb, p_workflow_id text, p_reason jsonb)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp
-- JIT compiles each statement's (badly overestimated) plan for longer than it runs
set jit = off as $$
declare
  v_snapshot jsonb;
  v_slots bigint[];
  v_keys jsonb;
begin
  if p_survivor = p_loser then return; end if;
  select to_jsonb(m) into v_snapshot from people.master m where m.person_id = p_loser and m.merged_into is null for update;
  if v_snapshot is null then return; end if;
  with moved as (update people.slot set person_id = p_survivor where person_id = p_loser returning slot_id)
  select coalesce(array_agg(slot_id order by slot_id), '{}') into v_slots from moved;
  with moved as (update people.master_key set person_id = p_survivor where person_id = p_loser returning kind, value)
  select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'value', value) order by kind, value), '[]') into v_keys from moved;
  update people.master set merged_into = p_survivor, version = version + 1, updated_at = now() where person_id = p_loser;
  update people.master set merged_into = p_survivor where merged_into = p_loser;

  insert into people.history_entries (person_id, action, field, old_value, new_value, workflow_id, details) values
    (p_survivor, 'merge', 'person_id', to_jsonb(p_loser), to_jsonb(p_survivor), p_workflow_id,
     jsonb_build_object('loser', v_snapshot, 'moved_slot_ids', to_jsonb(v_slots), 'moved_keys', v_keys, 'reason', p_reason)),
    (p_loser, 'merged_into', 'merged_into', null, to_jsonb(p_survivor), p_workflow_id, jsonb_build_object('reason', p_reason));
  -- audited as the transaction's context names it: the promotion's actor (automatic) or the API key (by hand)
  perform intake.f_audit('person_merged', 'person', p_loser::text, jsonb_build_object('merged_into', null),
                         jsonb_build_object('merged_into', p_survivor, 'reason', p_reason));

  perform people.f_apply_survivorship(array[p_survivor], p_rules, p_workflow_id);
end
$$;

-- The creation records of the fresh people of the chunk being resolved (pg_temp.resolve_people,
-- filled by people.f_resolve_loads): one history entry each, holding every first value. A function
-- of its own so that its cost is measured apart (pg_stat_user_functions; bench:ingest's "history").
create or replace function people.f_log_history(p_workflow_id text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp set jit = off as $$
declare
  v_n integer;
begin
  insert into people.history_entries (person_id, action, field, old_value, new_value, source, slot_id, load_id, workflow_id)
  select p.person_id, 'create', '*', null, f.fields, p.source, p.slot_id, p.load_id, p_workflow_id
  from pg_temp.resolve_people p
  cross join lateral (select people.f_person_fields(p.email, p.first_name, p.last_name, p.full_name, p.title, p.headline,
                        p.seniority, p.departments, p.phone, p.linkedin_url, p.city, p.state, p.country, p.company_id) as fields) f
  where p.fresh and f.fields <> '{}';
  get diagnostics v_n = row_count;
  return v_n;
end
$$;

-- Resolve the promoted loads of a chunk into slots and golden records. Runs in the promotion
-- chunk's transaction (its ledger makes it exactly-once); a global transaction lock keeps two
-- chunks from creating the same new master at once.
create or replace function people.f_resolve_loads(p_load_ids bigint[], p_rules jsonb, p_workflow_id text default null)
returns table (people_created integer, people_changed integer, companies_created integer, companies_changed integer, merges integer)
language plpgsql security definer set search_path = pg_catalog, pg_temp
-- JIT compiles each statement's (badly overestimated) plan for longer than it runs; a chunk's
-- candidate values (~12 per person) sort in memory, not in temp files
set jit = off set work_mem = '64MB' as $$
declare
  v_people_created integer := 0;
  v_companies_created integer := 0;
  v_people_changed integer;
  v_companies_changed integer;
  v_merges integer := 0;
  v_n integer;
  v_pair record;
  v_cslots bigint[];
  v_pslots bigint[];
  v_fresh_people integer;
begin
  perform pg_advisory_xact_lock(hashtext('master-resolution'));

  create temp table if not exists pg_temp.resolve_loads (
    load_id bigint, source text, seen_at timestamptz, contact_id bigint, email text, person_key text, company_key text,
    company_slot_id bigint, company_unchanged boolean, first_name text, last_name text, full_name text, title text, headline text, seniority text,
    departments text, phone text, linkedin_url text, city text, state text, country text, source_person_id text,
    company_name text, company_domain text, company_website text, company_linkedin_url text, company_industry text,
    company_employees integer, company_phone text, company_city text, company_state text, company_country text,
    source_company_id text
  ) on commit delete rows;
  truncate pg_temp.resolve_loads;
  create temp table if not exists pg_temp.resolve_groups (key text, id bigint) on commit delete rows;
  -- the chunk's existing slots as they were before it: survivorship reruns only for masters with a
  -- slot that is new, changed or moved (for the others it would be a no-op: every write to a slot
  -- is followed by survivorship of its master)
  create temp table if not exists pg_temp.resolve_cslots_before (like company.slot) on commit delete rows;
  truncate pg_temp.resolve_cslots_before;
  create temp table if not exists pg_temp.resolve_pslots_before (like people.slot) on commit delete rows;
  truncate pg_temp.resolve_pslots_before;
  create temp table if not exists pg_temp.resolve_people (
    source text, person_key text, source_id text, load_id bigint, contact_id bigint, seen_at timestamptz,
    company_slot_id bigint, company_id bigint, email text, first_name text, last_name text, full_name text, title text,
    headline text, seniority text, departments text, phone text, linkedin_url text, city text, state text, country text,
    company_domain text, email_key text, name_domain_key text, fresh boolean, known_slot_id bigint, unchanged boolean,
    person_id bigint, slot_id bigint
  ) on commit delete rows;
  truncate pg_temp.resolve_people;

  insert into pg_temp.resolve_loads
  select l.load_id, l.source, l.created_at, l.contact_id, l.email,
         coalesce('id:' || x.source_person_id, 'email:' || l.email, 'li:' || x.linkedin_url, 'load:' || l.load_id),
         coalesce('id:' || x.source_company_id, 'domain:' || x.company_domain, 'li:' || x.company_linkedin_url,
                  'name:' || company.f_name_key(x.company_name)),
         null, null, x.*
  -- one primary-key probe per load (offset 0: joined, it was planned as a hash of every load,
  -- a scan of the whole table per chunk; see vault.f_promote_contacts)
  from unnest(p_load_ids) as ids(load_id)
  cross join lateral (select r.* from intake.raw_loads r where r.load_id = ids.load_id offset 0) l
  cross join lateral people.f_canonical_fields(l.raw) x
  where l.status = 'promoted' and l.contact_id is not null;

  ---------------------------------------------------------------- companies
  -- one index probe per key (offset 0: as a plain join, the planner, blind to the temp table's
  -- size, would hash it against a sequential scan of every slot)
  insert into pg_temp.resolve_cslots_before
  select s.* from (select distinct r.source, r.company_key from pg_temp.resolve_loads r where r.company_key is not null) k
  cross join lateral (select * from company.slot s where s.source = k.source and s.source_key = k.company_key offset 0) s;

  -- one slot per (source, company key): rows of the same company in this chunk pool their values,
  -- the newest non-empty value of each field first (a company only one row names takes that
  -- row's values, without sorting each field's values)
  with keyed as (
    select r.*, count(*) over (partition by r.source, r.company_key) as n
    from pg_temp.resolve_loads r where r.company_key is not null
  ),
  src as (
    select r.source, r.company_key, r.load_id, r.seen_at, r.source_company_id as source_id, r.company_name as name,
           r.company_domain as domain, r.company_website as website, r.company_linkedin_url as linkedin_url,
           r.company_industry as industry, r.company_employees as employee_count,
           r.company_phone as phone, r.company_city as city, r.company_state as state,
           r.company_country as country
    from keyed r where r.n = 1
    union all
    select r.source, r.company_key, max(r.load_id) as load_id, max(r.seen_at) as seen_at,
           (array_agg(r.source_company_id order by r.load_id desc) filter (where r.source_company_id is not null))[1] as source_id,
           (array_agg(r.company_name order by r.load_id desc) filter (where r.company_name is not null))[1] as name,
           (array_agg(r.company_domain order by r.load_id desc) filter (where r.company_domain is not null))[1] as domain,
           (array_agg(r.company_website order by r.load_id desc) filter (where r.company_website is not null))[1] as website,
           (array_agg(r.company_linkedin_url order by r.load_id desc) filter (where r.company_linkedin_url is not null))[1] as linkedin_url,
           (array_agg(r.company_industry order by r.load_id desc) filter (where r.company_industry is not null))[1] as industry,
           (array_agg(r.company_employees order by r.load_id desc) filter (where r.company_employees is not null))[1] as employee_count,
           (array_agg(r.company_phone order by r.load_id desc) filter (where r.company_phone is not null))[1] as phone,
           (array_agg(r.company_city order by r.load_id desc) filter (where r.company_city is not null))[1] as city,
           (array_agg(r.company_state order by r.load_id desc) filter (where r.company_state is not null))[1] as state,
           (array_agg(r.company_country order by r.load_id desc) filter (where r.company_country is not null))[1] as country
    from keyed r where r.n > 1
    group by r.source, r.company_key
  ),
  -- a company this source sent before, resolved, that says nothing new (a re-import, or the same
  -- company in every chunk of a bulk import): only its last sighting moves (a HOT update), and it
  -- takes no further part in matching (the slot and its keys are as they were resolved)
  classified as (
    select src.*, company.f_name_key(src.name) as name_key, b.slot_id as known_slot_id,
           b.company_id is not null
             and (b.name, b.domain, b.website, b.linkedin_url, b.industry, b.employee_count, b.phone, b.city, b.state,
                  b.country, b.name_key, b.source_id)
                 is not distinct from
                 (coalesce(src.name, b.name), coalesce(src.domain, b.domain), coalesce(src.website, b.website),
                  coalesce(src.linkedin_url, b.linkedin_url), coalesce(src.industry, b.industry),
                  coalesce(src.employee_count, b.employee_count), coalesce(src.phone, b.phone), coalesce(src.city, b.city),
                  coalesce(src.state, b.state), coalesce(src.country, b.country),
                  coalesce(company.f_name_key(src.name), b.name_key), coalesce(src.source_id, b.source_id)) as unchanged
    from src left join pg_temp.resolve_cslots_before b on b.source = src.source and b.source_key = src.company_key
  ),
  seen as (
    update company.slot s set last_seen_at = greatest(s.last_seen_at, c.seen_at), load_id = c.load_id
    from classified c where c.unchanged and s.slot_id = c.known_slot_id
    returning s.slot_id, s.source, s.source_key, true as unchanged
  ),
  up as (
    insert into company.slot as s (source, source_key, source_id, load_id, seen_at, last_seen_at, name, domain, website,
      linkedin_url, industry, employee_count, phone, city, state, country, name_key)
    select src.source, src.company_key, src.source_id, src.load_id, src.seen_at, src.seen_at, src.name, src.domain, src.website,
           src.linkedin_url, src.industry, src.employee_count, src.phone, src.city, src.state, src.country, src.name_key
    from classified src where not src.unchanged
    on conflict (source, source_key) do update set
      name = coalesce(excluded.name, s.name), domain = coalesce(excluded.domain, s.domain),
      website = coalesce(excluded.website, s.website), linkedin_url = coalesce(excluded.linkedin_url, s.linkedin_url),
      industry = coalesce(excluded.industry, s.industry), employee_count = coalesce(excluded.employee_count, s.employee_count),
      phone = coalesce(excluded.phone, s.phone), city = coalesce(excluded.city, s.city),
      state = coalesce(excluded.state, s.state), country = coalesce(excluded.country, s.country),
      name_key = coalesce(excluded.name_key, s.name_key), source_id = coalesce(excluded.source_id, s.source_id),
      -- recency moves only when this source says something new
      seen_at = case when (s.name, s.domain, s.website, s.linkedin_url, s.industry, s.employee_count, s.phone, s.city, s.state, s.country)
                          is not distinct from
                          (coalesce(excluded.name, s.name), coalesce(excluded.domain, s.domain), coalesce(excluded.website, s.website),
                           coalesce(excluded.linkedin_url, s.linkedin_url), coalesce(excluded.industry, s.industry),
                           coalesce(excluded.employee_count, s.employee_count), coalesce(excluded.phone, s.phone),
                           coalesce(excluded.city, s.city), coalesce(excluded.state, s.state), coalesce(excluded.country, s.country))
                     then s.seen_at else greatest(s.seen_at, excluded.seen_at) end,
      last_seen_at = greatest(s.last_seen_at, excluded.last_seen_at),
      load_id = excluded.load_id
    returning s.slot_id, s.source, s.source_key, false as unchanged
  )
  update pg_temp.resolve_loads r set company_slot_id = w.slot_id, company_unchanged = w.unchanged
  from (select * from up union all select * from seen) w where w.source = r.source and w.source_key = r.company_key;

  select coalesce(array_agg(distinct company_slot_id), '{}') into v_cslots
  from pg_temp.resolve_loads where company_slot_id is not null and not company_unchanged;

  -- existing masters by key: domain, then LinkedIn, then name (slots without a domain only)
  update company.slot s set company_id = k.company_id from company.master_key k
  where s.slot_id = any(v_cslots) and s.company_id is null and k.kind = 'domain' and k.value = s.domain;
  update company.slot s set company_id = k.company_id from company.master_key k
  where s.slot_id = any(v_cslots) and s.company_id is null and k.kind = 'linkedin' and k.value = s.linkedin_url;
  update company.slot s set company_id = k.company_id from company.master_key k
  where s.slot_id = any(v_cslots) and s.company_id is null and s.domain is null and k.kind = 'name' and k.value = s.name_key;

  -- keys the matched slots add to their masters (a slot resolved before, with the same master and
  -- keys, added its keys then)
  insert into company.master_key (kind, value, company_id)
  select k.kind, k.value, s.company_id from company.slot s
  cross join lateral (values ('domain', s.domain), ('linkedin', s.linkedin_url), ('name', s.name_key)) k(kind, value)
  where s.slot_id = any(v_cslots) and s.company_id is not null and k.value is not null
    and not exists (select from pg_temp.resolve_cslots_before b
                    where b.slot_id = s.slot_id and (b.company_id, b.domain, b.linkedin_url, b.name_key)
                                                    is not distinct from (s.company_id, s.domain, s.linkedin_url, s.name_key))
  on conflict do nothing;

  -- new masters, one per group of still-unresolved slots: by domain, then LinkedIn, then name

  for i in 1..3 loop
    truncate pg_temp.resolve_groups;
    insert into pg_temp.resolve_groups (key, id)
    select g.key, nextval(pg_get_serial_sequence('company.master', 'company_id'))
    from (select distinct case i when 1 then s.domain when 2 then s.linkedin_url else s.name_key end as key
          from company.slot s where s.slot_id = any(v_cslots) and s.company_id is null) g
    where g.key is not null;
    insert into company.master (company_id) overriding system value select id from pg_temp.resolve_groups;
    get diagnostics v_n = row_count;
    v_companies_created := v_companies_created + v_n;
    update company.slot s set company_id = g.id from pg_temp.resolve_groups g
    where s.slot_id = any(v_cslots) and s.company_id is null
      and g.key = case i when 1 then s.domain when 2 then s.linkedin_url else s.name_key end;
    -- the new masters' keys, so the next pass (and the next chunk) finds them
    insert into company.master_key (kind, value, company_id)
    select k.kind, k.value, s.company_id from company.slot s
    cross join lateral (values ('domain', s.domain), ('linkedin', s.linkedin_url), ('name', s.name_key)) k(kind, value)
    where s.slot_id = any(v_cslots) and s.company_id in (select id from pg_temp.resolve_groups) and k.value is not null
    on conflict do nothing;
    update company.slot s set company_id = k.company_id from company.master_key k
    where s.slot_id = any(v_cslots) and s.company_id is null and k.kind = 'linkedin' and k.value = s.linkedin_url;
    update company.slot s set company_id = k.company_id from company.master_key k
    where s.slot_id = any(v_cslots) and s.company_id is null and s.domain is null and k.kind = 'name' and k.value = s.name_key;
  end loop;

  -- strong keys of one slot pointing at two masters: the same company, merge (older master survives)
  loop
    select least(s.company_id, k.company_id) as survivor, greatest(s.company_id, k.company_id) as loser,
           s.slot_id, k.kind, k.value
    into v_pair
    from company.slot s
    -- one index probe per key kind (an OR in the join condition would scan every key)
    cross join lateral (values ('domain', s.domain), ('linkedin', s.linkedin_url)) sk(kind, value)
    join company.master_key k on k.kind = sk.kind and k.value = sk.value
    where s.slot_id = any(v_cslots) and k.company_id <> s.company_id
    limit 1;
    exit when not found;
    perform company.f_merge(v_pair.survivor, v_pair.loser, p_rules, p_workflow_id,
      jsonb_build_object('slot_id', v_pair.slot_id, 'key', v_pair.kind, 'value', v_pair.value));
    v_merges := v_merges + 1;
  end loop;

  v_companies_changed := company.f_apply_survivorship(
    array(select distinct s.company_id from company.slot s
          left join pg_temp.resolve_cslots_before b on b.slot_id = s.slot_id
          where s.slot_id = any(v_cslots)
            and (b.slot_id is null
                 or (s.company_id, s.seen_at, s.name, s.domain, s.website, s.linkedin_url, s.industry, s.employee_count,
                     s.phone, s.city, s.state, s.country)
                    is distinct from
                    (b.company_id, b.seen_at, b.name, b.domain, b.website, b.linkedin_url, b.industry, b.employee_count,
                     b.phone, b.city, b.state, b.country))),
    p_rules, p_workflow_id);

  ---------------------------------------------------------------- people
  insert into pg_temp.resolve_pslots_before
  select s.* from (select distinct r.source, r.person_key from pg_temp.resolve_loads r) k
  cross join lateral (select * from people.slot s where s.source = k.source and s.source_key = k.person_key offset 0) s;

  -- one source record per (source, person key), the newest load of it in the chunk, with its
  -- company (resolved above) and its match keys. "Fresh" is the common case of a bulk import: a
  -- person this source never sent whose keys name no master and no other person of the chunk.
  -- Resolution would give it a master of its own holding every value of its one slot; the fresh
  -- path below writes exactly that, each row once, instead of creating an empty master, matching
  -- and updating its slot, then ranking its values.
  insert into pg_temp.resolve_people
  select p.*,
         case when p.fresh then nextval(pg_get_serial_sequence('people.master', 'person_id')) end,
         case when p.fresh then nextval(pg_get_serial_sequence('people.slot', 'slot_id')) end
  from (
    select k.*,
           b.slot_id is null
             and (k.email_key is null or (count(*) over (partition by k.email_key) = 1 and e.taken is null))
             and (k.linkedin_url is null or (count(*) over (partition by k.linkedin_url) = 1 and li.taken is null))
             and (k.name_domain_key is null or (count(*) over (partition by k.name_domain_key) = 1 and nd.taken is null))
             as fresh,
           b.slot_id as known_slot_id,
           -- a person this source sent before, resolved, that says nothing new (a re-import): only
           -- the last sighting of its slot moves, and it takes no further part in matching
           b.person_id is not null
             and (b.email, b.first_name, b.last_name, b.full_name, b.title, b.headline, b.seniority, b.departments, b.phone,
                  b.linkedin_url, b.city, b.state, b.country, b.company_domain, b.company_slot_id, b.company_id, b.contact_id,
                  b.source_id)
                 is not distinct from
                 (coalesce(k.email, b.email), coalesce(k.first_name, b.first_name), coalesce(k.last_name, b.last_name),
                  coalesce(k.full_name, b.full_name), coalesce(k.title, b.title), coalesce(k.headline, b.headline),
                  coalesce(k.seniority, b.seniority), coalesce(k.departments, b.departments), coalesce(k.phone, b.phone),
                  coalesce(k.linkedin_url, b.linkedin_url), coalesce(k.city, b.city), coalesce(k.state, b.state),
                  coalesce(k.country, b.country), coalesce(k.company_domain, b.company_domain),
                  coalesce(k.company_slot_id, b.company_slot_id), coalesce(k.company_id, b.company_id),
                  coalesce(k.contact_id, b.contact_id), coalesce(k.source_id, b.source_id))
             as unchanged
    from (
      select r.source, r.person_key, r.source_person_id as source_id, r.load_id, r.contact_id, r.seen_at,
             r.company_slot_id, cs.company_id, r.email, r.first_name as first_name, r.last_name as last_name,
             r.full_name as full_name, r.title as title, r.headline as headline,
             r.seniority as seniority, r.departments as departments, r.phone as phone,
             r.linkedin_url as linkedin_url, r.city as city, r.state as state, r.country as country,
             r.company_domain as company_domain, people.f_email_key(r.email) as email_key,
             people.f_name_domain_key(r.first_name, r.last_name, r.full_name, r.company_domain) as name_domain_key
      from (select distinct on (r.source, r.person_key) r.* from pg_temp.resolve_loads r order by r.source, r.person_key, r.load_id desc) r
      -- one index probe per row (offset 0: a plain join would be hashed against every company slot)
      left join lateral (select cs.company_id from company.slot cs where cs.slot_id = r.company_slot_id offset 0) cs on true
    ) k
    left join pg_temp.resolve_pslots_before b on b.source = k.source and b.source_key = k.person_key
    -- one index probe per key (as "not exists" the planner hashes every key of every master),
    -- only for a person this source never sent (what "fresh" asks; a re-import probes nothing)
    left join lateral (select true as taken from people.master_key m
                       where b.slot_id is null and m.kind = 'email' and m.value = k.email_key limit 1) e on true
    left join lateral (select true as taken from people.master_key m
                       where b.slot_id is null and m.kind = 'linkedin' and m.value = k.linkedin_url limit 1) li on true
    left join lateral (select true as taken from people.master_key m
                       where b.slot_id is null and m.kind = 'name_domain' and m.value = k.name_domain_key limit 1) nd on true
  ) p;
  analyze pg_temp.resolve_people;

  -- fresh people: master (version 2 and field_sources, as survivorship leaves a one-slot master),
  -- slot, keys, and one history row recording every first value
  insert into people.master (person_id, email, first_name, last_name, full_name, title, headline, seniority, departments,
    phone, linkedin_url, city, state, country, company_id, field_sources, version) overriding system value
  select p.person_id, p.email, p.first_name, p.last_name, p.full_name, p.title, p.headline, p.seniority, p.departments,
         p.phone, p.linkedin_url, p.city, p.state, p.country, p.company_id,
         jsonb_strip_nulls(jsonb_build_object(
           'email', case when p.email is not null then o.origin end,
           'first_name', case when p.first_name is not null then o.origin end,
           'last_name', case when p.last_name is not null then o.origin end,
           'full_name', case when p.full_name is not null then o.origin end,
           'title', case when p.title is not null then o.origin end,
           'headline', case when p.headline is not null then o.origin end,
           'seniority', case when p.seniority is not null then o.origin end,
           'departments', case when p.departments is not null then o.origin end,
           'phone', case when p.phone is not null then o.origin end,
           'linkedin_url', case when p.linkedin_url is not null then o.origin end,
           'city', case when p.city is not null then o.origin end,
           'state', case when p.state is not null then o.origin end,
           'country', case when p.country is not null then o.origin end,
           'company_id', case when p.company_id is not null then o.origin end)),
         case when o.fields = '{}' then 1 else 2 end
  from pg_temp.resolve_people p
  cross join lateral (select jsonb_build_object('source', p.source, 'slot_id', p.slot_id, 'seen_at', p.seen_at) as origin,
                             people.f_person_fields(p.email, p.first_name, p.last_name, p.full_name, p.title, p.headline,
                               p.seniority, p.departments, p.phone, p.linkedin_url, p.city, p.state, p.country, p.company_id) as fields
                      -- offset 0: computed once per person (flattened, origin was built again for each field)
                      offset 0) o
  where p.fresh;
  get diagnostics v_fresh_people = row_count;

  insert into people.slot (slot_id, source, source_key, source_id, load_id, contact_id, seen_at, last_seen_at, person_id,
    company_slot_id, company_id, email, first_name, last_name, full_name, title, headline, seniority, departments, phone,
    linkedin_url, city, state, country, company_domain) overriding system value
  select p.slot_id, p.source, p.person_key, p.source_id, p.load_id, p.contact_id, p.seen_at, p.seen_at, p.person_id,
         p.company_slot_id, p.company_id, p.email, p.first_name, p.last_name, p.full_name, p.title, p.headline, p.seniority,
         p.departments, p.phone, p.linkedin_url, p.city, p.state, p.country, p.company_domain
  from pg_temp.resolve_people p where p.fresh;

  insert into people.master_key (kind, value, person_id)
  select k.kind, k.value, p.person_id from pg_temp.resolve_people p
  cross join lateral (values ('email', p.email_key), ('linkedin', p.linkedin_url), ('name_domain', p.name_domain_key)) k(kind, value)
  where p.fresh and k.value is not null;

  perform people.f_log_history(p_workflow_id);

  update people.slot s set last_seen_at = greatest(s.last_seen_at, p.seen_at), load_id = p.load_id
  from pg_temp.resolve_people p where p.unchanged and s.slot_id = p.known_slot_id;

  -- everyone else: slots upserted, then matched, grouped and merged by the rules
  with up as (
    insert into people.slot as s (source, source_key, source_id, load_id, contact_id, seen_at, last_seen_at, company_slot_id,
      company_id, email, first_name, last_name, full_name, title, headline, seniority, departments, phone, linkedin_url,
      city, state, country, company_domain)
    select p.source, p.person_key, p.source_id, p.load_id, p.contact_id, p.seen_at, p.seen_at,
           p.company_slot_id, p.company_id, p.email, p.first_name, p.last_name, p.full_name,
           p.title, p.headline, p.seniority, p.departments, p.phone,
           p.linkedin_url, p.city, p.state, p.country, p.company_domain
    from pg_temp.resolve_people p where not p.fresh and not p.unchanged
    on conflict (source, source_key) do update set
      email = coalesce(excluded.email, s.email), first_name = coalesce(excluded.first_name, s.first_name),
      last_name = coalesce(excluded.last_name, s.last_name), full_name = coalesce(excluded.full_name, s.full_name),
      title = coalesce(excluded.title, s.title), headline = coalesce(excluded.headline, s.headline),
      seniority = coalesce(excluded.seniority, s.seniority), departments = coalesce(excluded.departments, s.departments),
      phone = coalesce(excluded.phone, s.phone), linkedin_url = coalesce(excluded.linkedin_url, s.linkedin_url),
      city = coalesce(excluded.city, s.city), state = coalesce(excluded.state, s.state), country = coalesce(excluded.country, s.country),
      company_domain = coalesce(excluded.company_domain, s.company_domain),
      company_slot_id = coalesce(excluded.company_slot_id, s.company_slot_id), company_id = coalesce(excluded.company_id, s.company_id),
      contact_id = coalesce(excluded.contact_id, s.contact_id), source_id = coalesce(excluded.source_id, s.source_id),
      seen_at = case when (s.email, s.first_name, s.last_name, s.full_name, s.title, s.headline, s.seniority, s.departments,
                           s.phone, s.linkedin_url, s.city, s.state, s.country, s.company_id)
                          is not distinct from
                          (coalesce(excluded.email, s.email), coalesce(excluded.first_name, s.first_name),
                           coalesce(excluded.last_name, s.last_name), coalesce(excluded.full_name, s.full_name),
                           coalesce(excluded.title, s.title), coalesce(excluded.headline, s.headline),
                           coalesce(excluded.seniority, s.seniority), coalesce(excluded.departments, s.departments),
                           coalesce(excluded.phone, s.phone), coalesce(excluded.linkedin_url, s.linkedin_url),
                           coalesce(excluded.city, s.city), coalesce(excluded.state, s.state),
                           coalesce(excluded.country, s.country), coalesce(excluded.company_id, s.company_id))
                     then s.seen_at else greatest(s.seen_at, excluded.seen_at) end,
      last_seen_at = greatest(s.last_seen_at, excluded.last_seen_at),
      load_id = excluded.load_id
    returning s.slot_id
  )
  select coalesce(array_agg(up.slot_id), '{}') into v_pslots from up;
  v_people_created := v_fresh_people;
  v_people_changed := v_fresh_people;
  if cardinality(v_pslots) = 0 then
    return query select v_people_created, v_people_changed, v_companies_created, v_companies_changed, v_merges;
    return;
  end if;

  -- existing masters: email, then LinkedIn, then name + company domain
  update people.slot s set person_id = k.person_id from people.master_key k
  where s.slot_id = any(v_pslots) and s.person_id is null and k.kind = 'email' and k.value = people.f_email_key(s.email);
  update people.slot s set person_id = k.person_id from people.master_key k
  where s.slot_id = any(v_pslots) and s.person_id is null and k.kind = 'linkedin' and k.value = s.linkedin_url;
  update people.slot s set person_id = k.person_id from people.master_key k
  where s.slot_id = any(v_pslots) and s.person_id is null and k.kind = 'name_domain'
    and k.value = people.f_name_domain_key(s.first_name, s.last_name, s.full_name, s.company_domain);

  -- keys the matched slots add to their masters (a new email of a known person, …; a slot resolved
  -- before, with the same master and keys, added its keys then)
  insert into people.master_key (kind, value, person_id)
  select k.kind, k.value, s.person_id from people.slot s
  cross join lateral (values ('email', people.f_email_key(s.email)), ('linkedin', s.linkedin_url),
    ('name_domain', people.f_name_domain_key(s.first_name, s.last_name, s.full_name, s.company_domain))) k(kind, value)
  where s.slot_id = any(v_pslots) and s.person_id is not null and k.value is not null
    and not exists (select from pg_temp.resolve_pslots_before b
                    where b.slot_id = s.slot_id
                      and (b.person_id, b.email, b.linkedin_url, b.first_name, b.last_name, b.full_name, b.company_domain)
                          is not distinct from (s.person_id, s.email, s.linkedin_url, s.first_name, s.last_name, s.full_name, s.company_domain))
  on conflict do nothing;

  for i in 1..4 loop
    truncate pg_temp.resolve_groups;
    insert into pg_temp.resolve_groups (key, id)
    select g.key, nextval(pg_get_serial_sequence('people.master', 'person_id'))
    from (select distinct case i when 1 then people.f_email_key(s.email) when 2 then s.linkedin_url
                                 when 3 then people.f_name_domain_key(s.first_name, s.last_name, s.full_name, s.company_domain)
                                 else 'slot:' || s.slot_id end as key
          from people.slot s where s.slot_id = any(v_pslots) and s.person_id is null) g
    where g.key is not null;
    insert into people.master (person_id) overriding system value select id from pg_temp.resolve_groups;
    get diagnostics v_n = row_count;
    v_people_created := v_people_created + v_n;
    update people.slot s set person_id = g.id from pg_temp.resolve_groups g
    where s.slot_id = any(v_pslots) and s.person_id is null
      and g.key = case i when 1 then people.f_email_key(s.email) when 2 then s.linkedin_url
                         when 3 then people.f_name_domain_key(s.first_name, s.last_name, s.full_name, s.company_domain)
                         else 'slot:' || s.slot_id end;
    insert into people.master_key (kind, value, person_id)
    select k.kind, k.value, s.person_id from people.slot s
    cross join lateral (values ('email', people.f_email_key(s.email)), ('linkedin', s.linkedin_url),
      ('name_domain', people.f_name_domain_key(s.first_name, s.last_name, s.full_name, s.company_domain))) k(kind, value)
    where s.slot_id = any(v_pslots) and s.person_id in (select id from pg_temp.resolve_groups) and k.value is not null
    on conflict do nothing;
    update people.slot s set person_id = k.person_id from people.master_key k
    where s.slot_id = any(v_pslots) and s.person_id is null and k.kind = 'linkedin' and k.value = s.linkedin_url;
    update people.slot s set person_id = k.person_id from people.master_key k
    where s.slot_id = any(v_pslots) and s.person_id is null and k.kind = 'name_domain'
      and k.value = people.f_name_domain_key(s.first_name, s.last_name, s.full_name, s.company_domain);
  end loop;

  loop
    select least(s.person_id, k.person_id) as survivor, greatest(s.person_id, k.person_id) as loser,
           s.slot_id, k.kind, k.value
    into v_pair
    from people.slot s
    cross join lateral (values ('email', people.f_email_key(s.email)), ('linkedin', s.linkedin_url)) sk(kind, value)
    join people.master_key k on k.kind = sk.kind and k.value = sk.value
    where s.slot_id = any(v_pslots) and k.person_id <> s.person_id
    limit 1;
    exit when not found;
    perform people.f_merge(v_pair.survivor, v_pair.loser, p_rules, p_workflow_id,
      jsonb_build_object('slot_id', v_pair.slot_id, 'key', v_pair.kind, 'value', v_pair.value));
    v_merges := v_merges + 1;
  end loop;

  v_people_changed := v_people_changed + people.f_apply_survivorship(
    array(select distinct s.person_id from people.slot s
          left join pg_temp.resolve_pslots_before b on b.slot_id = s.slot_id
          where s.slot_id = any(v_pslots)
            and (b.slot_id is null
                 or (s.person_id, s.seen_at, s.email, s.first_name, s.last_name, s.full_name, s.title, s.headline, s.seniority,
                     s.departments, s.phone, s.linkedin_url, s.city, s.state, s.country, s.company_id)
                    is distinct from
                    (b.person_id, b.seen_at, b.email, b.first_name, b.last_name, b.full_name, b.title, b.headline, b.seniority,
                     b.departments, b.phone, b.linkedin_url, b.city, b.state, b.country, b.company_id))),
    p_rules, p_workflow_id);

  return query select v_people_created, v_people_changed, v_companies_created, v_companies_changed, v_merges;
end
$$;

-- A person's manual edit as a source ('manual_edit', the highest priority; db/master-data.ts's
-- recordManualEdit): the contact's slot of that source takes the edited fields, then survivorship
-- writes the changed ones to the golden record and its history. p_fields: slot field -> value.
create or replace function people.f_record_manual_edit(p_contact_id bigint, p_person_id bigint, p_fields jsonb, p_rules jsonb)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_fields constant text[] := array['first_name', 'last_name', 'full_name', 'title', 'phone', 'linkedin_url', 'city', 'state',
                                    'country', 'company_domain'];
  v_names text;
  v_values text;
  v_updates text;
begin
  if exists (select 1 from jsonb_object_keys(p_fields) k where k <> all (v_fields)) then
    raise exception 'a manual edit sets only %', array_to_string(v_fields, ', ') using errcode = 'invalid_parameter_value';
  end if;
  select string_agg(format('%I', k), ', '), string_agg(format('$3 ->> %L', k), ', '), string_agg(format('%1$I = excluded.%1$I', k), ', ')
    into v_names, v_values, v_updates from jsonb_object_keys(p_fields) k;
  if v_names is null then return; end if;
  execute format(
    'insert into people.slot as s (source, source_key, contact_id, person_id, seen_at, last_seen_at, %s)
     values (''manual_edit'', ''contact:'' || $1, $1, $2, now(), now(), %s)
     on conflict (source, source_key) do update set %s, person_id = excluded.person_id, seen_at = now(), last_seen_at = now()',
    v_names, v_values, v_updates) using p_contact_id, p_person_id, p_fields;
  perform people.f_apply_survivorship(array[p_person_id], p_rules, null);
end
$$;

-- The masters a manual merge names, locked to the end of the transaction: a FOR UPDATE needs
-- an UPDATE right on the table, which the processes' role does not have.
create or replace function people.f_lock_masters(p_kind text, p_ids bigint[]) returns table (id bigint, merged_into bigint)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_kind = 'person' then
    return query select m.person_id, m.merged_into from people.master m where m.person_id = any (p_ids) for update;
  elsif p_kind = 'company' then
    return query select m.company_id, m.merged_into from company.master m where m.company_id = any (p_ids) for update;
  else
    raise exception 'no kind of master %', p_kind using errcode = 'invalid_parameter_value';
  end if;
end
$$;

