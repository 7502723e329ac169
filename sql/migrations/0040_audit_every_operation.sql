-- Issue 10, audit every operation: who (actor: the API key's name, or the process that acted),
-- what (action, entity, entity id, before/after images of the changed fields), and through which
-- request and workflow. GET /api/audit reads it newest first, filtered, with a keyset cursor.
alter table intake.audit_log add column request_id text;

-- Each filter of GET /api/audit walks one index in audit_id order (the keyset): by entity, by actor,
-- by action. The time range rides on the BRIN index over `at` (rows arrive in time order).
drop index intake.audit_log_entity;
create index audit_log_entity on intake.audit_log (entity, entity_id, audit_id);
create index audit_log_actor on intake.audit_log (actor, audit_id);
create index audit_log_action on intake.audit_log (action, audit_id);

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks. A migration that must rewrite history
-- (the table's owner) disables these triggers inside its own transaction. Row-level grants for
-- the app role come with the roles of issue 10's database layer.
create function intake.f_refuse_audit_change() returns trigger language plpgsql as $$
begin
  raise exception 'intake.audit_log is append-only: % is refused', tg_op using errcode = 'insufficient_privilege';
end $$;
create trigger audit_log_append_only before update or delete on intake.audit_log
  for each row execute function intake.f_refuse_audit_change();
create trigger audit_log_no_truncate before truncate on intake.audit_log
  for each statement execute function intake.f_refuse_audit_change();

-- Who, through which request and workflow: what the transaction's audit context says
-- (db/audit.ts sets it with set_config(…, true), so it never outlives the transaction on a pooled
-- connection), unless the insert names its own. After such a transaction the settings read '' on
-- that connection, hence nullif.
alter table intake.audit_log
  alter column actor set default nullif(current_setting('app.actor', true), ''),
  alter column request_id set default nullif(current_setting('app.request_id', true), ''),
  alter column workflow_id set default nullif(current_setting('app.workflow_id', true), '');
