-- Field history with creation records. A new master used to get one history row per field it
-- got (about a dozen per person): at bulk-import scale most of resolution's writes. Now its
-- creation is one row (action 'create') whose new_value holds every first value, with the same
-- source, slot, load, workflow and time each of those rows carried. The tables keep every entry
-- as written (people.history_entries, company.history_entries); people.history and
-- company.history are views that read as before, one row per field change: a creation record
-- is one 'set' row per field with old_value JSON null, so "who set this field, when, from which
-- source" still has its answer there.
alter table people.history rename to history_entries;
alter table company.history rename to history_entries;
alter table people.history_entries drop constraint history_action_check;
alter table people.history_entries add constraint history_entries_action_check check (action in ('set', 'create', 'merge', 'merged_into'));
alter table company.history_entries drop constraint history_action_check;
alter table company.history_entries add constraint history_entries_action_check check (action in ('set', 'create', 'merge', 'merged_into'));

create view people.history as
  select h.history_id, h.person_id, h.action, h.field, h.old_value, h.new_value, h.source, h.slot_id, h.load_id,
         h.workflow_id, h.details, h.at
  from people.history_entries h where h.action <> 'create'
  union all
  select h.history_id, h.person_id, 'set', f.key, 'null'::jsonb, f.value, h.source, h.slot_id, h.load_id,
         h.workflow_id, h.details, h.at
  from people.history_entries h cross join lateral jsonb_each(h.new_value) f where h.action = 'create';

create view company.history as
  select h.history_id, h.company_id, h.action, h.field, h.old_value, h.new_value, h.source, h.slot_id, h.load_id,
         h.workflow_id, h.details, h.at
  from company.history_entries h where h.action <> 'create'
  union all
  select h.history_id, h.company_id, 'set', f.key, 'null'::jsonb, f.value, h.source, h.slot_id, h.load_id,
         h.workflow_id, h.details, h.at
  from company.history_entries h cross join lateral jsonb_each(h.new_value) f where h.action = 'create';

-- Writers that still insert into the views (code written before this migration) land in the tables.
create function people.f_history_insert() returns trigger language plpgsql as $$
begin
  insert into people.history_entries (person_id, action, field, old_value, new_value, source, slot_id, load_id, workflow_id, details, at)
  values (new.person_id, coalesce(new.action, 'set'), new.field, new.old_value, new.new_value, new.source, new.slot_id,
          new.load_id, new.workflow_id, new.details, coalesce(new.at, now()))
  returning history_id into new.history_id;
  return new;
end
$$;
create trigger history_insert instead of insert on people.history for each row execute function people.f_history_insert();

create function company.f_history_insert() returns trigger language plpgsql as $$
begin
  insert into company.history_entries (company_id, action, field, old_value, new_value, source, slot_id, load_id, workflow_id, details, at)
  values (new.company_id, coalesce(new.action, 'set'), new.field, new.old_value, new.new_value, new.source, new.slot_id,
          new.load_id, new.workflow_id, new.details, coalesce(new.at, now()))
  returning history_id into new.history_id;
  return new;
end
$$;
create trigger history_insert instead of insert on company.history for each row execute function company.f_history_insert();
