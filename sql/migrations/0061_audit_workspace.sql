-- Every audit row belongs to the workspace its operation ran in: app.workspace_id, which the
-- processes set in each transaction (db/pool.ts). Rows written before are the default
-- workspace's. Work that runs in no workspace yet (an unauthenticated tracking hit or provider
-- webhook, until those resolve theirs) is recorded in the default one.
alter table intake.audit_log add column workspace_id bigint not null default 1;
alter table intake.audit_log
  alter column workspace_id set default coalesce(nullif(current_setting('app.workspace_id', true), '')::bigint, 1);

-- The log is read per workspace (row-level security below), so the workspace leads each index.
-- No foreign key: an append-only log, written on every operation, pays no per-row check; the
-- workspace comes from the setting, not from input.
create index audit_log_workspace on intake.audit_log (workspace_id, audit_id);
drop index intake.audit_log_action;
create index audit_log_action on intake.audit_log (workspace_id, action, audit_id);
drop index intake.audit_log_actor;
create index audit_log_actor on intake.audit_log (workspace_id, actor, audit_id);
drop index intake.audit_log_entity;
create index audit_log_entity on intake.audit_log (workspace_id, entity, entity_id, audit_id);

-- Forced, so the owner role the SECURITY DEFINER functions run as is held to it too (a superuser
-- is not: migrations, backups and audit:restore read every workspace). Reading fails closed: with
-- no workspace set, no row. Appending stamps the current workspace (the default one outside any);
-- nothing may update or delete (no policy, and the append-only trigger besides).
alter table intake.audit_log enable row level security;
alter table intake.audit_log force row level security;
create policy audit_log_read on intake.audit_log for select
  using (workspace_id = (select nullif(current_setting('app.workspace_id', true), '')::bigint));
create policy audit_log_append on intake.audit_log for insert
  with check (workspace_id = coalesce((select nullif(current_setting('app.workspace_id', true), '')::bigint), 1));
