-- The mailbox reader's ledger (sql/migrations/0015_mailbox.sql): where a reader resumes, and
-- one call per message that records it and its effect in one transaction.
-- Both write as their owner (SECURITY DEFINER, search_path pinned): the processes' role cannot write these tables.

-- The last UID read in this folder under this UIDVALIDITY; 0 when the reader starts afresh (first
-- run, another folder, or the server renumbered the folder with a new UIDVALIDITY).
create or replace function marketing.f_mailbox_cursor(p_mailbox text, p_folder text, p_uidvalidity bigint)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_last bigint;
begin
  insert into marketing.mailbox_cursors (mailbox, folder, uidvalidity) values (p_mailbox, p_folder, p_uidvalidity)
  on conflict (mailbox) do update set folder = excluded.folder, uidvalidity = excluded.uidvalidity, last_uid = 0, updated_at = now()
   where (mailbox_cursors.folder, mailbox_cursors.uidvalidity) is distinct from (excluded.folder, excluded.uidvalidity);
  select last_uid into v_last from marketing.mailbox_cursors where mailbox = p_mailbox;
  return v_last;
end $$;

-- Records one message of a mailbox, exactly once: the ledger row (keyed by folder, UIDVALIDITY
-- and UID), its effect and the cursor commit together, so a reader killed anywhere and retried
-- finds the row and changes nothing. p_kind is the classifier's verdict (common/inbound-mail.ts):
--   reply, auto_reply   counted for the send one of p_message_ids names whole, sent to p_from
--   hard_bounce, soft_bounce, complaint   for the send one of p_message_ids names whole (a DSN comes
--                       from the mailer daemon, not the recipient; the 122 random bits of our
--                       Message-IDs are the proof it concerns our mail)
--   unsubscribe         for p_outreach_ids[1], whose signed token the caller verified
--   other               nothing to record (p_reason says why)
-- Returns the outcome (the kind, 'unmatched', 'duplicate' or 'other'), the send it counted for, and
-- whether this call recorded it (false: an earlier attempt did).
create or replace function marketing.f_record_mailbox_message(
  p_mailbox text, p_folder text, p_uidvalidity bigint, p_uid bigint, p_message_id text, p_received_at timestamptz,
  p_kind text, p_from text, p_outreach_ids bigint[], p_message_ids text[], p_details jsonb, p_reason text)
returns table (outcome text, outreach_id bigint, recorded boolean) language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_outcome text := p_kind;
  v_row bigint;
  v_reason text := p_reason;
  v_key text := 'imap:' || p_mailbox || ':' || p_folder || ':' || p_uidvalidity || ':' || p_uid;
  v_details jsonb := coalesce(p_details, '{}') || jsonb_build_object('mailbox', p_mailbox, 'message_id', left(p_message_id, 998));
  -- anyone can mail us a Message-ID of any length: past a b-tree entry's size it is kept as its digest
  v_mid text := case when octet_length(p_message_id) > 512
                     then 'sha256:' || encode(sha256(convert_to(p_message_id, 'UTF8')), 'hex') else p_message_id end;
begin
  insert into marketing.mailbox_messages as m (mailbox, folder, uidvalidity, uid, message_id, outcome, received_at)
  values (p_mailbox, p_folder, p_uidvalidity, p_uid, v_mid, 'other', p_received_at)
  on conflict do nothing;
  if not found then
    return query select m.outcome, m.outreach_id, false from marketing.mailbox_messages m
                  where m.mailbox = p_mailbox and m.folder = p_folder and m.uidvalidity = p_uidvalidity and m.uid = p_uid;
    return;
  end if;
  update marketing.mailbox_cursors c set last_uid = greatest(c.last_uid, p_uid), updated_at = now()
   where c.mailbox = p_mailbox and c.folder = p_folder and c.uidvalidity = p_uidvalidity;

  if p_kind = 'other' then
    null;
  elsif v_mid is not null and exists (
      select 1 from marketing.mailbox_messages m
       where m.mailbox = p_mailbox and m.message_id = v_mid and m.outcome <> 'duplicate'
         and (m.folder, m.uidvalidity, m.uid) <> (p_folder, p_uidvalidity, p_uid)) then
    v_outcome := 'duplicate';
    v_reason := 'read before under another UID';
  else
    if p_kind = 'unsubscribe' then
      v_row := p_outreach_ids[1];
    else
      select h.outreach_id into v_row from marketing.outreach_history h
       where h.outreach_id = any(p_outreach_ids) and h.message_id = any(p_message_ids)
         and (p_kind not in ('reply', 'auto_reply') or lower(h.email) = lower(p_from))
       order by h.outreach_id desc limit 1;
    end if;
    if v_row is null then
      v_outcome := 'unmatched';
      v_reason := case when p_kind in ('reply', 'auto_reply') then 'names no message of ours sent to its sender'
                       else 'names no message of ours' end;
    elsif p_kind = 'reply' then
      perform marketing.f_record_reply(v_row, v_details, v_key);
    elsif p_kind = 'auto_reply' then
      perform marketing.f_record_auto_reply(v_row, v_details, v_key);
    elsif p_kind in ('hard_bounce', 'soft_bounce', 'complaint') then
      perform marketing.f_record_bounce(null, case p_kind when 'hard_bounce' then 'hard' when 'soft_bounce' then 'soft' else 'complaint' end,
                                        v_row, v_details, v_key, 'mailbox');
    elsif p_kind = 'unsubscribe' then
      if not marketing.f_unsubscribe(v_row, 'mailto') then
        v_outcome := 'unmatched';
        v_reason := 'its unsubscribe token names no message of ours';
        v_row := null;
      end if;
    end if;
  end if;

  update marketing.mailbox_messages m set outcome = v_outcome, outreach_id = v_row, reason = v_reason
   where m.mailbox = p_mailbox and m.folder = p_folder and m.uidvalidity = p_uidvalidity and m.uid = p_uid;
  return query select v_outcome, v_row, true;
end $$;
