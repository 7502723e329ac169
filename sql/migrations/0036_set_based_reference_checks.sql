-- Golden-record references checked once per statement instead of once per row. A promotion
-- chunk writes ~5,000 slots, masters and ~15,000 match keys, and each foreign key ran its own
-- check per row (a query, an index probe and a key-share lock on the referenced row, plus a
-- queued trigger event): measured at about half of resolution's time (bench/ingest.ts --explain,
-- "without foreign-key checks"). The same rules now hold through statement-level triggers over
-- the statement's transition table: one anti-join per reference, index probes in bulk.
--   * a written row must name an existing row (insert and update of the referencing table);
--   * a referenced row cannot be deleted while something names it (what NO ACTION did).
-- Ids never change (identity columns), so a referenced row can only go away by a delete. What the
-- row-level check also did — lock the referenced row until commit — is not needed: nothing deletes
-- these rows, and anything that ever does must take the resolution lock
-- (pg_advisory_xact_lock(hashtext('master-resolution'))) that every writer of them holds.

-- tg_argv: (column, referenced table, referenced column) triples
create function people.f_check_references() returns trigger language plpgsql as $$
declare
  v_bad text;
begin
  for i in 0 .. tg_nargs - 1 by 3 loop
    execute format('select n.%1$I::text from new_rows n where n.%1$I is not null and not exists (select from %2$s r where r.%3$I = n.%1$I) limit 1',
                   tg_argv[i], tg_argv[i + 1], tg_argv[i + 2]) into v_bad;
    if v_bad is not null then
      raise exception 'insert or update on table "%.%" violates a reference: % = % names no row of %',
        tg_table_schema, tg_table_name, tg_argv[i], v_bad, tg_argv[i + 1]
        using errcode = 'foreign_key_violation', schema = tg_table_schema, table = tg_table_name, column = tg_argv[i];
    end if;
  end loop;
  return null;
end
$$;

-- tg_argv: (referencing table, referencing column, referenced column) triples
create function people.f_check_referenced() returns trigger language plpgsql as $$
declare
  v_bad text;
begin
  for i in 0 .. tg_nargs - 1 by 3 loop
    execute format('select o.%3$I::text from old_rows o where exists (select from %1$s r where r.%2$I = o.%3$I) limit 1',
                   tg_argv[i], tg_argv[i + 1], tg_argv[i + 2]) into v_bad;
    if v_bad is not null then
      raise exception 'delete on table "%.%" violates a reference: % = % is still named by %.%',
        tg_table_schema, tg_table_name, tg_argv[i + 2], v_bad, tg_argv[i], tg_argv[i + 1]
        using errcode = 'foreign_key_violation', schema = tg_table_schema, table = tg_table_name;
    end if;
  end loop;
  return null;
end
$$;

alter table people.slot drop constraint slot_contact_id_fkey, drop constraint slot_person_id_fkey,
  drop constraint slot_company_slot_id_fkey, drop constraint slot_company_id_fkey;
alter table people.master drop constraint master_company_id_fkey, drop constraint master_merged_into_fkey;
alter table people.master_key drop constraint master_key_person_id_fkey;
alter table company.slot drop constraint slot_company_id_fkey;
alter table company.master drop constraint master_merged_into_fkey;
alter table company.master_key drop constraint master_key_company_id_fkey;

create trigger slot_references_insert after insert on people.slot referencing new table as new_rows
  for each statement execute function people.f_check_references(
    'contact_id', 'vault.contacts', 'contact_id', 'person_id', 'people.master', 'person_id',
    'company_slot_id', 'company.slot', 'slot_id', 'company_id', 'company.master', 'company_id');
create trigger slot_references_update after update on people.slot referencing new table as new_rows
  for each statement execute function people.f_check_references(
    'contact_id', 'vault.contacts', 'contact_id', 'person_id', 'people.master', 'person_id',
    'company_slot_id', 'company.slot', 'slot_id', 'company_id', 'company.master', 'company_id');
create trigger master_references_insert after insert on people.master referencing new table as new_rows
  for each statement execute function people.f_check_references(
    'company_id', 'company.master', 'company_id', 'merged_into', 'people.master', 'person_id');
create trigger master_references_update after update on people.master referencing new table as new_rows
  for each statement execute function people.f_check_references(
    'company_id', 'company.master', 'company_id', 'merged_into', 'people.master', 'person_id');
create trigger master_key_references_insert after insert on people.master_key referencing new table as new_rows
  for each statement execute function people.f_check_references('person_id', 'people.master', 'person_id');
create trigger master_key_references_update after update on people.master_key referencing new table as new_rows
  for each statement execute function people.f_check_references('person_id', 'people.master', 'person_id');
create trigger slot_references_insert after insert on company.slot referencing new table as new_rows
  for each statement execute function people.f_check_references('company_id', 'company.master', 'company_id');
create trigger slot_references_update after update on company.slot referencing new table as new_rows
  for each statement execute function people.f_check_references('company_id', 'company.master', 'company_id');
create trigger master_references_insert after insert on company.master referencing new table as new_rows
  for each statement execute function people.f_check_references('merged_into', 'company.master', 'company_id');
create trigger master_references_update after update on company.master referencing new table as new_rows
  for each statement execute function people.f_check_references('merged_into', 'company.master', 'company_id');
create trigger master_key_references_insert after insert on company.master_key referencing new table as new_rows
  for each statement execute function people.f_check_references('company_id', 'company.master', 'company_id');
create trigger master_key_references_update after update on company.master_key referencing new table as new_rows
  for each statement execute function people.f_check_references('company_id', 'company.master', 'company_id');

create trigger slot_references_delete after delete on vault.contacts referencing old table as old_rows
  for each statement execute function people.f_check_referenced('people.slot', 'contact_id', 'contact_id');
create trigger master_referenced_delete after delete on people.master referencing old table as old_rows
  for each statement execute function people.f_check_referenced(
    'people.slot', 'person_id', 'person_id', 'people.master', 'merged_into', 'person_id', 'people.master_key', 'person_id', 'person_id');
create trigger slot_referenced_delete after delete on company.slot referencing old table as old_rows
  for each statement execute function people.f_check_referenced('people.slot', 'company_slot_id', 'slot_id');
create trigger master_referenced_delete after delete on company.master referencing old table as old_rows
  for each statement execute function people.f_check_referenced(
    'company.slot', 'company_id', 'company_id', 'people.slot', 'company_id', 'company_id', 'people.master', 'company_id', 'company_id',
    'company.master', 'merged_into', 'company_id', 'company.master_key', 'company_id', 'company_id');
-- a truncate would bypass the delete checks
create function people.f_refuse_truncate() returns trigger language plpgsql as $$
begin
  raise exception 'truncate of %.% is refused: golden records name its rows', tg_table_schema, tg_table_name
    using errcode = 'foreign_key_violation';
end
$$;
create trigger refuse_truncate before truncate on people.master for each statement execute function people.f_refuse_truncate();
create trigger refuse_truncate before truncate on company.master for each statement execute function people.f_refuse_truncate();
create trigger refuse_truncate before truncate on company.slot for each statement execute function people.f_refuse_truncate();
create trigger refuse_truncate before truncate on vault.contacts for each statement execute function people.f_refuse_truncate();
