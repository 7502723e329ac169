-- Campaign, template and manual suppression writes, each with its audit row in the same
-- transaction (issue 10). The actor, request id and workflow id come from the transaction's audit
-- context (sql/functions/audit.sql). Status moves are audited by marketing.f_transition_campaign.

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
returns void language sql volatile as $$
  delete from marketing.campaign_steps where campaign_id = p_campaign_id;
  insert into marketing.campaign_steps (campaign_id, step_no, template_id, delay_seconds)
  select p_campaign_id, ord, t, d from unnest(p_template_ids, p_delays) with ordinality as x(t, d, ord);
$$;

-- The columns a campaign is created with and a draft may change, by name in p_fields (as
-- jsonb_populate_record reads them: window_days an array, window_start a time, …).
create or replace function marketing.f_create_campaign(p_fields jsonb, p_template_ids bigint[], p_delays integer[])
returns bigint language plpgsql as $$
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
returns text language plpgsql as $$
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
language plpgsql as $$
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
language plpgsql as $$
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
returns void language plpgsql as $$
begin
  if p_to is not null then perform marketing.f_transition_campaign(p_campaign_id, p_to, p_only_from); end if;
  perform intake.f_audit(p_action, 'campaign_schedule', p_campaign_id::text, null, p_details);
end $$;

create or replace function marketing.f_create_template(p_name text, p_subject text, p_html text, p_text_body text)
returns marketing.templates language plpgsql as $$
declare
  t marketing.templates;
begin
  insert into marketing.templates (name, subject, html, text_body) values (p_name, p_subject, p_html, p_text_body) returning * into t;
  perform intake.f_audit('template_created', 'template', t.template_id::text, null, to_jsonb(t));
  return t;
end $$;

-- Replaces a template's text; null when there is none.
create or replace function marketing.f_replace_template(p_template_id bigint, p_name text, p_subject text, p_html text, p_text_body text)
returns marketing.templates language plpgsql as $$
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
language plpgsql as $$
declare
  v_old marketing.templates;
begin
  delete from marketing.templates where template_id = p_template_id returning * into v_old;
  if not found then return false; end if;
  perform intake.f_audit('template_deleted', 'template', p_template_id::text, to_jsonb(v_old), null);
  return true;
end $$;

-- Adds addresses by hand (already lower-cased); one audit row per address newly listed.
create or replace function marketing.f_add_suppressions(p_emails text[], p_reason text, p_source text) returns integer
language sql volatile as $$
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
