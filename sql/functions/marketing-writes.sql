-- Campaign, template and manual suppression writes, each with its audit row in the same
-- transaction (issue 10). The actor, request id and workflow id come from the transaction's audit
-- context (sql/functions/audit.sql). Status moves are audited by marketing.f_transition_campaign.
-- The writers run as their owner (SECURITY DEFINER, search_path pinned, every name schema-qualified):
-- the processes' role reads the marketing tables and cannot write them, nor lock their rows.

-- A campaign as the audit log keeps it: the row and its steps.
create or replace function marketing.f_campaign_image(p_campaign_id bigint) returns jsonb
language sql stable as $$
  select to_jsonb(c) || jsonb_build_object('steps', coalesce((
           select jsonb_agg(jsonb_build_object('step_no', s.step_no, 'template_id', s.template_id, 'delay_seconds', s.delay_seconds)
                            order by s.step_no)
             from marketing.campaign_steps s where s.campaign_id = c.campaign_id), '[]'))
    from marketing.campaigns c where c.campaign_id = p_campaign_id
$$;

create or replace function marketing.f_write_campaign_steps(p_campaign_id bigint, p_template_ids bigint[], p_delays integer[])
returns void language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  delete from marketing.campaign_steps where campaign_id = p_campaign_id;
  insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds)
  select p_campaign_id, ord, t, d from unnest(p_template_ids, p_delays) with ordinality as x(t, d, ord);
$$;

-- The columns a campaign is created with and a draft may change, by name in p_fields (as
-- jsonb_populate_record reads them: window_days an array, window_start a time, …).
create or replace function marketing.f_create_campaign(p_fields jsonb, p_template_ids bigint[], p_delays integer[])
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  f marketing.campaigns := jsonb_populate_record(null::marketing.campaigns, p_fields);
  v_id bigint;
begin
  insert into marketing.campaigns (name, from_email, from_name, reply_to, criteria, time_zone, window_days, window_start, window_end, rate_per_minute)
  values (f.name, lower(f.from_email), f.from_name, f.reply_to, coalesce(f.criteria, '{}'), coalesce(f.time_zone, 'UTC'),
          f.window_days, f.window_start, f.window_end, coalesce(f.rate_per_minute, 60))
  returning campaign_id into v_id;
  perform marketing.f_write_campaign_steps(v_id, p_template_ids, p_delays);
  perform intake.f_audit('campaign_created', 'campaign', v_id::text, null, marketing.f_campaign_image(v_id));
  return v_id;
end $$;

-- Changes a draft or scheduled campaign (fields named in p_changes; steps when p_template_ids is
-- not null). Returns 'edited', 'not-found', or the status that forbids the change.
create or replace function marketing.f_edit_campaign(p_campaign_id bigint, p_changes jsonb, p_template_ids bigint[], p_delays integer[])
returns text language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_old marketing.campaigns;
  v_new marketing.campaigns;
  v_before jsonb;
begin
  select * into v_old from marketing.campaigns where campaign_id = p_campaign_id for update;
  if not found then return 'not-found'; end if;
  if v_old.status not in ('draft', 'scheduled') then return v_old.status; end if;
  v_before := marketing.f_campaign_image(p_campaign_id);
  if p_changes <> '{}' then
    v_new := jsonb_populate_record(v_old, p_changes);
    update marketing.campaigns
       set name = v_new.name, from_email = lower(v_new.from_email), from_name = v_new.from_name, reply_to = v_new.reply_to,
           criteria = v_new.criteria, time_zone = v_new.time_zone, window_days = v_new.window_days,
           window_start = v_new.window_start, window_end = v_new.window_end, rate_per_minute = v_new.rate_per_minute,
           updated_at = now()
     where campaign_id = p_campaign_id;
  end if;
  if p_template_ids is not null then perform marketing.f_write_campaign_steps(p_campaign_id, p_template_ids, p_delays); end if;
  perform intake.f_audit_change('campaign_updated', 'campaign', p_campaign_id::text, v_before, marketing.f_campaign_image(p_campaign_id));
  return 'edited';
end $$;

-- Deletes a draft or scheduled campaign that never queued a send; the audit row keeps it whole.
create or replace function marketing.f_delete_campaign(p_campaign_id bigint) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_status text;
  v_before jsonb;
begin
  select status into v_status from marketing.campaigns where campaign_id = p_campaign_id for update;
  if not found then return 'not-found'; end if;
  if v_status not in ('draft', 'scheduled') or exists (select 1 from marketing.outreach_history where campaign_id = p_campaign_id) then
    return 'has-run';
  end if;
  v_before := marketing.f_campaign_image(p_campaign_id);
  delete from marketing.campaigns where campaign_id = p_campaign_id;
  perform intake.f_audit('campaign_deleted', 'campaign', p_campaign_id::text, v_before, null);
  return 'removed';
end $$;

-- A start asked through the API (the run then moves the status itself: campaign_started).
create or replace function marketing.f_record_campaign_run(p_campaign_id bigint, p_workflow_id text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  update marketing.campaigns set workflow_id = p_workflow_id where campaign_id = p_campaign_id;
  if found then
    insert into intake.audit_log (action, entity, entity_id, after, workflow_id)
    values ('campaign_start_requested', 'campaign', p_campaign_id::text, jsonb_build_object('workflow_id', p_workflow_id), p_workflow_id);
  end if;
end $$;

-- A campaign's Temporal Schedule changed (create, pause, unpause, trigger, delete): the change is
-- in Temporal, its record here; p_status moves the campaign (draft ⇄ scheduled) in the same transaction.
create or replace function marketing.f_audit_schedule(p_campaign_id bigint, p_action text, p_details jsonb, p_to text, p_only_from text[])
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_to is not null then perform marketing.f_transition_campaign(p_campaign_id, p_to, p_only_from); end if;
  perform intake.f_audit(p_action, 'campaign_schedule', p_campaign_id::text, null, p_details);
end $$;

create or replace function marketing.f_create_template(p_name text, p_subject text, p_html text, p_text_body text)
returns marketing.templates language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t marketing.templates;
begin
  insert into marketing.templates (name, subject, html, text_body) values (p_name, p_subject, p_html, p_text_body) returning * into t;
  perform intake.f_audit('template_created', 'template', t.template_id::text, null, to_jsonb(t));
  return t;
end $$;

-- Replaces a template's text; null when there is none.
create or replace function marketing.f_replace_template(p_template_id bigint, p_name text, p_subject text, p_html text, p_text_body text)
returns marketing.templates language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_old marketing.templates;
  t marketing.templates;
begin
  select * into v_old from marketing.templates where template_id = p_template_id for update;
  if not found then return null; end if;
  update marketing.templates set name = p_name, subject = p_subject, html = p_html, text_body = p_text_body, updated_at = now()
   where template_id = p_template_id returning * into t;
  perform intake.f_audit_change('template_updated', 'template', p_template_id::text, to_jsonb(v_old), to_jsonb(t));
  return t;
end $$;

create or replace function marketing.f_delete_template(p_template_id bigint) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_old marketing.templates;
begin
  delete from marketing.templates where template_id = p_template_id returning * into v_old;
  if not found then return false; end if;
  perform intake.f_audit('template_deleted', 'template', p_template_id::text, to_jsonb(v_old), null);
  return true;
end $$;

-- The campaign row, locked until the transaction ends (the processes' role may not lock rows
-- itself: FOR UPDATE and FOR SHARE need the UPDATE privilege). No row: no such campaign.
create or replace function marketing.f_lock_campaign(p_campaign_id bigint) returns setof marketing.campaigns
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select * from marketing.campaigns where campaign_id = p_campaign_id for update
$$;

-- The same, FOR SHARE: the status cannot move until the transaction ends, other readers may lock too.
create or replace function marketing.f_share_lock_campaign(p_campaign_id bigint) returns setof marketing.campaigns
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select * from marketing.campaigns where campaign_id = p_campaign_id for share
$$;

-- A run's start, under the campaign's lock (marketing.f_lock_campaign): queues every step for the
-- audience (p_contact_ids, the selection the caller made from the criteria, and the contacts
-- added by hand in campaign_members), each contact while active, not suppressed and not queued in
-- this campaign before (rows already there are kept, never added twice); the first step is due
-- at p_as_of. Then marks the campaign running. Returns the rows queued.
create or replace function marketing.f_start_campaign_run(p_campaign_id bigint, p_workflow_id text, p_as_of timestamptz,
                                                          p_contact_ids bigint[])
returns integer language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_rows integer;
begin
  with first_step as (select min(step_no) as n from marketing.campaign_steps where campaign_id = p_campaign_id),
  audience as (
    select c.contact_id, c.email, c.country
      from (select unnest(p_contact_ids) as contact_id
            union
            select m.contact_id from marketing.campaign_members m where m.campaign_id = p_campaign_id) a
      join vault.contacts c on c.contact_id = a.contact_id
     where c.status = 'active'
       and not exists (select 1 from marketing.suppressions s where s.email = c.email)
       and not exists (select 1 from marketing.outreach_history h where h.campaign_id = p_campaign_id and h.contact_id = c.contact_id))
  insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, time_zone, due_at)
  select p_campaign_id, a.contact_id, s.step_no, a.email, marketing.f_country_time_zone(a.country),
         case when s.step_no = (select n from first_step) then p_as_of end
    from audience a cross join marketing.campaign_steps s
   where s.campaign_id = p_campaign_id
  on conflict (campaign_id, contact_id, step_no) do nothing;
  get diagnostics v_rows = row_count;
  perform marketing.f_transition_campaign(p_campaign_id, 'running');
  update marketing.campaigns set started_at = coalesce(started_at, now()), last_run_at = now(),
         completed_at = null, workflow_id = p_workflow_id, updated_at = now()
   where campaign_id = p_campaign_id;
  -- the status move audits campaign_started; this row says what the run's snapshot queued
  -- (a retried start that queues nothing more writes none)
  if v_rows > 0 then
    perform intake.f_audit('campaign_audience_queued', 'campaign', p_campaign_id::text, null, jsonb_build_object('rows_queued', v_rows));
  end if;
  return v_rows;
end $$;

-- Fresh statistics for the send ledger after a run's snapshot added to it (only its owner may ANALYZE it).
create or replace function marketing.f_analyze_outreach_history() returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  analyze marketing.outreach_history;
end $$;

-- A run's end (p_outcome completed or cancelled): cancelled leaves nothing queued; the status
-- moves (marketing.f_transition_campaign audits it); the first completion emits campaign.completed
-- (a retried finish emits nothing); the feedback report keeps the per-step progress and the
-- campaign report as GET /api/campaigns/:id/report serves it.
create or replace function marketing.f_finish_campaign_run(p_campaign_id bigint, p_outcome text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_before text;
begin
  if p_outcome = 'cancelled' then
    update marketing.outreach_history set status = 'cancelled', failure_reason = 'campaign cancelled'
     where campaign_id = p_campaign_id and status = 'queued';
  end if;
  select status into v_before from marketing.campaigns where campaign_id = p_campaign_id for update;
  perform marketing.f_transition_campaign(p_campaign_id, p_outcome);
  update marketing.campaigns set completed_at = now(), updated_at = now() where campaign_id = p_campaign_id;
  if p_outcome = 'completed' and v_before is distinct from 'completed' then
    perform ops.f_emit_event('campaign.completed', jsonb_build_object('campaign_id', c.campaign_id, 'name', c.name,
              'sent_count', c.sent_count, 'response_count', c.response_count, 'completed_at', c.completed_at))
       from marketing.campaigns c where c.campaign_id = p_campaign_id;
  end if;
  insert into marketing.feedback_reports (campaign_id, report)
  select p_campaign_id, jsonb_build_object('outcome', p_outcome, 'steps', coalesce(jsonb_agg(to_jsonb(p)), '[]'),
                                           'report', analytics.f_campaign_report(p_campaign_id))
    from marketing.f_step_progress(p_campaign_id) p;
end $$;

-- Ends a campaign as cancelled after its run closed without finishing it (failed, terminated,
-- never past its start), audited (campaign_run_closed, with the reason). Unless p_force (the
-- caller terminated the run), a campaign the run did finish (completed or cancelled, with a
-- completion time) is left as it is. Returns 'cancelled', 'already-ended' or 'not-found'.
create or replace function marketing.f_close_campaign_run(p_campaign_id bigint, p_reason text, p_force boolean) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_status text;
  v_completed_at timestamptz;
begin
  select status, completed_at into v_status, v_completed_at from marketing.campaigns where campaign_id = p_campaign_id for update;
  if not found then return 'not-found'; end if;
  if not p_force and v_status in ('completed', 'cancelled') and v_completed_at is not null then return 'already-ended'; end if;
  perform marketing.f_finish_campaign_run(p_campaign_id, 'cancelled');
  perform intake.f_audit('campaign_run_closed', 'campaign', p_campaign_id::text, jsonb_build_object('status', v_status),
                         jsonb_build_object('status', 'cancelled', 'reason', p_reason, 'terminated', p_force));
  return 'cancelled';
end $$;

-- Contacts added to a campaign's audience by hand (the bulk action p_bulk_id); returns how many
-- were not members before.
create or replace function marketing.f_add_campaign_members(p_campaign_id bigint, p_bulk_id bigint, p_contact_ids bigint[]) returns integer
language sql security definer set search_path = pg_catalog, pg_temp as $$
  with added as (
    insert into marketing.campaign_members (campaign_id, contact_id, bulk_id)
    select p_campaign_id, c, p_bulk_id from unnest(p_contact_ids) as c
    on conflict do nothing
    returning 1)
  select count(*)::integer from added
$$;

-- Adds addresses by hand (already lower-cased); one audit row per address newly listed.
create or replace function marketing.f_add_suppressions(p_emails text[], p_reason text, p_source text) returns integer
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  with added as (
    insert into marketing.suppressions (email, reason, source)
    select e, p_reason, p_source from unnest(p_emails) as e
    on conflict (email) do nothing
    returning *
  ), audited as (
    insert into intake.audit_log (action, entity, entity_id, before, after)
    select 'suppression_added', 'suppression', a.email, null, to_jsonb(a) from added a
  )
  select count(*)::integer from added
$$;
