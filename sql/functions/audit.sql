-- The audit log's write helpers (issue 10). Actor, request id and workflow id come from the
-- transaction's audit context (intake.f_set_audit_context, called by db/audit.ts); the columns'
-- defaults read it, so every insert into intake.audit_log carries it without naming it.

create or replace function intake.f_set_audit_context(p_actor text, p_request_id text, p_workflow_id text)
returns void language sql volatile as $$
  select set_config('app.actor', coalesce(p_actor, ''), true),
         set_config('app.request_id', coalesce(p_request_id, ''), true),
         set_config('app.workflow_id', coalesce(p_workflow_id, ''), true)
$$;

-- One operation's row: full images as given (a create has only after, a delete only before).
create or replace function intake.f_audit(p_action text, p_entity text, p_entity_id text, p_before jsonb, p_after jsonb)
returns void language sql volatile as $$
  insert into intake.audit_log (action, entity, entity_id, before, after)
  values (p_action, p_entity, p_entity_id, p_before, p_after)
$$;

-- An update's row: only the fields that changed, before and after (updated_at is not a change).
create or replace function intake.f_audit_change(p_action text, p_entity text, p_entity_id text, p_before jsonb, p_after jsonb)
returns void language sql volatile as $$
  insert into intake.audit_log (action, entity, entity_id, before, after)
  select p_action, p_entity, p_entity_id,
         coalesce(jsonb_object_agg(k, p_before -> k), '{}'), coalesce(jsonb_object_agg(k, p_after -> k), '{}')
    from jsonb_object_keys(coalesce(p_before, '{}') || coalesce(p_after, '{}')) as k
   where k <> 'updated_at' and (p_before -> k) is distinct from (p_after -> k)
$$;


-- Audit-log reconstruction (npm run audit:restore): an entity as it was at a time, rebuilt from
-- the row images the triggers of migration 0031 write, and written back in one transaction.
-- Entities: contact (vault.contacts), person (people.master), company (company.master),
-- campaign (marketing.campaigns with its marketing.campaign_steps).

create or replace function intake.f_audit_entity_table(p_entity text) returns regclass
language sql stable as $$
  select case p_entity when 'contact' then 'vault.contacts' when 'person' then 'people.master'
                       when 'company' then 'company.master' when 'campaign' then 'marketing.campaigns' end::regclass
$$;

create or replace function intake.f_audit_entity_key(p_entity text) returns text
language sql immutable as $$
  select case p_entity when 'contact' then 'contact_id' when 'person' then 'person_id'
                       when 'company' then 'company_id' when 'campaign' then 'campaign_id' end
$$;

-- The entity's row as it was at p_at: the before image of its first change after p_at (in log
-- order), or, when nothing changed since, the row as it is. Null: it did not exist then.
create or replace function intake.f_entity_image_at(p_entity text, p_id text, p_at timestamptz) returns jsonb
language plpgsql stable as $$
declare
  v_image jsonb;
begin
  select a.before into v_image from intake.audit_log a
   where a.entity = p_entity and a.entity_id = p_id and a.action in ('row_updated', 'row_deleted') and a.at > p_at
   order by a.audit_id limit 1;
  if not found then
    execute format('select to_jsonb(t) from %s t where %I = $1::bigint', intake.f_audit_entity_table(p_entity), intake.f_audit_entity_key(p_entity))
      into v_image using p_id;
  end if;
  if v_image is null or (v_image ->> 'created_at')::timestamptz > p_at then return null; end if;
  return v_image;
end $$;

-- A campaign's steps at p_at (a JSON array), the same way.
create or replace function marketing.f_campaign_steps_at(p_campaign_id bigint, p_at timestamptz) returns jsonb
language sql stable as $$
  select coalesce(
    (select a.before from intake.audit_log a
      where a.entity = 'campaign_steps' and a.entity_id = p_campaign_id::text and a.action in ('row_updated', 'row_deleted') and a.at > p_at
      order by a.audit_id limit 1),
    (select jsonb_agg(to_jsonb(s) order by s.step_no) from marketing.campaign_steps s where s.campaign_id = p_campaign_id),
    '[]')
$$;

-- Writes a row image back: inserted with its own id when the row is gone, else every column
-- overwritten. Generated columns (score, search_words) are left to Postgres.
create or replace function intake.f_restore_row(p_table regclass, p_key text, p_image jsonb) returns void
language plpgsql as $$
declare
  v_cols text;
  v_set text;
begin
  select string_agg(quote_ident(attname), ', ' order by attnum),
         string_agg(format('%1$I = excluded.%1$I', attname), ', ' order by attnum) filter (where attname <> p_key)
    into v_cols, v_set
    from pg_attribute where attrelid = p_table and attnum > 0 and not attisdropped and attgenerated = '';
  execute format('insert into %s (%s) overriding system value select %s from jsonb_populate_record(null::%s, $1) on conflict (%I) do update set %s',
                 p_table, v_cols, v_cols, p_table, p_key, v_set) using p_image;
end $$;

-- Restores an entity to how it was at p_at (null: just before its last recorded change, i.e.
-- undo the last update or delete). Refusals raise SQLSTATE AR001 with the reason. Returns what
-- was done: {entity, id, at, outcome: 'restored' | 'unchanged', before, after}. Audited as
-- 'entity_restored' (and the restore's own writes get row images: it can be undone the same way).
create or replace function intake.f_restore_entity(p_entity text, p_id bigint, p_at timestamptz, p_actor text) returns jsonb
language plpgsql as $$
declare
  v_table regclass := intake.f_audit_entity_table(p_entity);
  v_key text := intake.f_audit_entity_key(p_entity);
  v_at timestamptz := p_at;
  v_current jsonb;
  v_image jsonb;
  v_steps_now jsonb;
  v_steps jsonb;
begin
  if v_table is null then
    raise exception 'unknown entity "%": contact, person, company or campaign', p_entity using errcode = 'AR001';
  end if;
  -- one restore of an entity at a time; its row, when there is one, is locked until commit
  perform pg_advisory_xact_lock(hashtext('audit-restore:' || p_entity || ':' || p_id));
  execute format('select to_jsonb(t) from %s t where %I = $1 for update', v_table, v_key) into v_current using p_id;
  if v_at is null then
    select a.at - interval '1 microsecond' into v_at from intake.audit_log a
     where a.entity in (p_entity, p_entity || '_steps') and a.entity_id = p_id::text and a.action in ('row_updated', 'row_deleted')
     order by a.audit_id desc limit 1;
    if not found then
      raise exception '% % has no recorded change to undo', p_entity, p_id using errcode = 'AR001';
    end if;
  end if;
  v_image := intake.f_entity_image_at(p_entity, p_id::text, v_at);
  if v_image is null then
    raise exception '% % did not exist at %', p_entity, p_id, v_at using errcode = 'AR001';
  end if;
  if p_entity = 'campaign' then
    select jsonb_agg(to_jsonb(s) order by s.step_no) into v_steps_now from marketing.campaign_steps s where s.campaign_id = p_id;
    v_steps := marketing.f_campaign_steps_at(p_id, v_at);
    v_current := v_current || jsonb_build_object('steps', coalesce(v_steps_now, '[]'));
  end if;
  if v_current is not distinct from (case when p_entity = 'campaign' then v_image || jsonb_build_object('steps', v_steps) else v_image end) then
    return jsonb_build_object('entity', p_entity, 'id', p_id, 'at', v_at, 'outcome', 'unchanged', 'before', v_current, 'after', v_current);
  end if;
  perform intake.f_restore_row(v_table, v_key, v_image);
  if p_entity = 'campaign' then
    delete from marketing.campaign_steps where campaign_id = p_id;
    insert into marketing.campaign_steps select * from jsonb_populate_recordset(null::marketing.campaign_steps, v_steps);
    v_image := v_image || jsonb_build_object('steps', v_steps);
  end if;
  insert into intake.audit_log (actor, action, entity, entity_id, before, after)
  values (p_actor, 'entity_restored', p_entity, p_id::text, v_current, v_image || jsonb_build_object('restored_as_of', v_at));
  return jsonb_build_object('entity', p_entity, 'id', p_id, 'at', v_at, 'outcome', 'restored', 'before', v_current, 'after', v_image);
end $$;
