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
