-- Full row images in intake.audit_log for what `npm run audit:restore` rebuilds: contacts, golden
-- records (people.master, company.master) and campaigns with their steps. Until now the log held
-- images only for some writes (contact_enriched; contact_updated kept the changed columns only;
-- promotion, survivorship, merges, unsubscribes, bounces and campaign edits kept none, and a
-- DELETE left no trace at all). Statement-level triggers write them in the changing statement's
-- own transaction, whoever writes (the app, a migration, someone at a psql prompt), set-based
-- through transition tables, so a 5,000-row promotion chunk adds one INSERT per table.
--
-- Each UPDATE writes action 'row_updated' with before = the whole old row and after = the whole
-- new row (rows whose values did not change are skipped); each DELETE writes 'row_deleted' with before = the whole row. INSERTs
-- write nothing: a row's created_at says since when it exists. Rows created in the same
-- transaction (now() = created_at: a golden record filled in by the promotion that made it) are
-- not imaged: there is no earlier state to go back to.
-- actor / workflow_id: the session settings app.actor / app.workflow_id when set.

create or replace function intake.f_audit_row_images() returns trigger
language plpgsql as $$
declare
  v_entity text := tg_argv[0];
  v_key text := tg_argv[1];
  v_actor text := coalesce(nullif(current_setting('app.actor', true), ''), 'db:' || current_user);
  v_workflow text := nullif(current_setting('app.workflow_id', true), '');
begin
  -- rows are compared and filtered as rows; only the ones that changed become JSON
  if tg_op = 'UPDATE' then
    execute format(
      'insert into intake.audit_log (actor, action, entity, entity_id, before, after, workflow_id)
       select $1, ''row_updated'', $2, o.%1$I::text, to_jsonb(o), to_jsonb(n), $3
         from old_rows o join new_rows n on n.%1$I = o.%1$I
        where o is distinct from n and o.created_at <> now()', v_key)
      using v_actor, v_entity, v_workflow;
  else
    execute format(
      'insert into intake.audit_log (actor, action, entity, entity_id, before, workflow_id)
       select $1, ''row_deleted'', $2, o.%1$I::text, to_jsonb(o), $3 from old_rows o', v_key)
      using v_actor, v_entity, v_workflow;
  end if;
  return null;
end $$;

-- A campaign's steps are one image per campaign and statement (entity 'campaign_steps', id =
-- campaign_id): every step the campaign had before the statement, as a JSON array.
create or replace function marketing.f_audit_campaign_steps() returns trigger
language plpgsql as $$
declare
  v_actor text := coalesce(nullif(current_setting('app.actor', true), ''), 'db:' || current_user);
  v_workflow text := nullif(current_setting('app.workflow_id', true), '');
begin
  if tg_op = 'UPDATE' then
    insert into intake.audit_log (actor, action, entity, entity_id, before, workflow_id)
    select v_actor, 'row_updated', 'campaign_steps', b.campaign_id::text, jsonb_agg(to_jsonb(b) order by b.step_no), v_workflow
      from (select * from old_rows
            union all
            select s.* from marketing.campaign_steps s
             where s.campaign_id in (select campaign_id from old_rows)
               and not exists (select 1 from new_rows n where n.campaign_id = s.campaign_id and n.step_no = s.step_no)) b
     group by b.campaign_id;
  else
    insert into intake.audit_log (actor, action, entity, entity_id, before, workflow_id)
    select v_actor, 'row_deleted', 'campaign_steps', b.campaign_id::text, jsonb_agg(to_jsonb(b) order by b.step_no), v_workflow
      from (select * from old_rows
            union all
            select s.* from marketing.campaign_steps s where s.campaign_id in (select campaign_id from old_rows)) b
     group by b.campaign_id;
  end if;
  return null;
end $$;

create trigger contacts_audit_update after update on vault.contacts
  referencing old table as old_rows new table as new_rows
  for each statement execute function intake.f_audit_row_images('contact', 'contact_id');
create trigger contacts_audit_delete after delete on vault.contacts
  referencing old table as old_rows
  for each statement execute function intake.f_audit_row_images('contact', 'contact_id');

create trigger people_master_audit_update after update on people.master
  referencing old table as old_rows new table as new_rows
  for each statement execute function intake.f_audit_row_images('person', 'person_id');
create trigger people_master_audit_delete after delete on people.master
  referencing old table as old_rows
  for each statement execute function intake.f_audit_row_images('person', 'person_id');

create trigger company_master_audit_update after update on company.master
  referencing old table as old_rows new table as new_rows
  for each statement execute function intake.f_audit_row_images('company', 'company_id');
create trigger company_master_audit_delete after delete on company.master
  referencing old table as old_rows
  for each statement execute function intake.f_audit_row_images('company', 'company_id');

create trigger campaigns_audit_update after update on marketing.campaigns
  referencing old table as old_rows new table as new_rows
  for each statement execute function intake.f_audit_row_images('campaign', 'campaign_id');
create trigger campaigns_audit_delete after delete on marketing.campaigns
  referencing old table as old_rows
  for each statement execute function intake.f_audit_row_images('campaign', 'campaign_id');

create trigger campaign_steps_audit_update after update on marketing.campaign_steps
  referencing old table as old_rows new table as new_rows
  for each statement execute function marketing.f_audit_campaign_steps();
create trigger campaign_steps_audit_delete after delete on marketing.campaign_steps
  referencing old table as old_rows
  for each statement execute function marketing.f_audit_campaign_steps();
