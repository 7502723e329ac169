-- Issue 10: marketing.* is written only by SECURITY DEFINER functions (sql/functions/marketing*.sql),
-- so the campaign_steps audit trigger now fires inside them, where current_user is their owner.
-- Its fallback actor (no app.actor in the transaction) names the login role again: session_user.
create or replace function marketing.f_audit_campaign_steps() returns trigger
language plpgsql as $$
declare
  v_actor text := coalesce(nullif(current_setting('app.actor', true), ''), 'db:' || session_user);
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
