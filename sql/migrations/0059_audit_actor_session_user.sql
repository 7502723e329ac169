-- Issue 10: writes run inside SECURITY DEFINER functions, where current_user is the functions'
-- owner. The row-image trigger's fallback actor (no app.actor in the transaction) names the role
-- that logged in, as it did when the processes wrote with their own rights: session_user.
create or replace function intake.f_audit_row_images() returns trigger
language plpgsql as $$
declare
  v_entity text := tg_argv[0];
  v_key text := tg_argv[1];
  v_actor text := coalesce(nullif(current_setting('app.actor', true), ''), 'db:' || session_user);
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
