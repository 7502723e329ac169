-- The one writer of marketing.engagement_events: every tracking path (open pixel, click
-- redirect, unsubscribe, the reply and bounce webhooks, the mailbox reader) records its event
-- here, with the verdict its caller reached (common/engagement.ts for opens and clicks).
--
-- Verdicts by kind: open human | machine; click human | bot; reply, unsubscribe and complaint
-- human (a person acted); auto_reply, hard_bounce and soft_bounce machine (a mail system did).
--
-- p_dedupe_key is the event's own identity when it has one (IMAP mailbox:folder:UIDVALIDITY:UID,
-- a reply's Message-ID, one unsubscribe per send); opens and clicks have none, each fetch is an
-- event. Returns false when the event was recorded before (same key) or the send does not exist,
-- so the caller skips its other writes and a retried delivery changes nothing.
create or replace function marketing.f_record_engagement(p_outreach_id bigint, p_kind text, p_verdict text, p_agent_class text,
                                                         p_url text, p_details jsonb, p_dedupe_key text)
returns boolean language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_id bigint;
  -- a key past a b-tree entry's size (a 998-character Message-ID of 4-byte characters) is kept as its digest
  v_key text := case when octet_length(p_dedupe_key) > 512
                     then 'sha256:' || encode(sha256(convert_to(p_dedupe_key, 'UTF8')), 'hex') else p_dedupe_key end;
begin
  insert into marketing.engagement_events (outreach_id, campaign_id, step_no, contact_id, kind, verdict, agent_class, url,
                                           seconds_after_send, details, dedupe_key)
  select h.outreach_id, h.campaign_id, h.step_no, h.contact_id, p_kind, p_verdict, p_agent_class, p_url,
         -- null while the send is not confirmed yet (an open racing the confirmation)
         floor(extract(epoch from now() - h.sent_at))::integer,
         coalesce(p_details, '{}'), v_key
    from marketing.outreach_history h
   where h.outreach_id = p_outreach_id
  on conflict (dedupe_key) do nothing
  returning event_id into v_id;
  return v_id is not null;
end $$;
