-- Replies and bounces read from the sending mailboxes over IMAP (workflows/mailbox.ts).
--
-- The ledger: one row per message read, keyed by where it sits in the mailbox (the folder's
-- UIDVALIDITY and the message's UID: RFC 3501 promises that pair never names another message).
-- A message's effect (reply, bounce, ...) commits in the same transaction as its ledger row, so a
-- reader killed at any point, retried, finds the row and records nothing twice.
create table marketing.mailbox_messages (
  mailbox     text not null,      -- the sending identity the mailbox belongs to (IMAP_URL)
  folder      text not null,
  uidvalidity bigint not null,
  uid         bigint not null,
  message_id  text,               -- the message's own Message-ID header
  -- what it was: reply, auto_reply, hard_bounce, soft_bounce, complaint, unsubscribe; other
  -- (no response to our mail); unmatched (names no send of ours); duplicate (seen before under
  -- another UID: the folder was rebuilt with a new UIDVALIDITY, or the message was copied back)
  outcome     text not null check (outcome in ('reply', 'auto_reply', 'hard_bounce', 'soft_bounce', 'complaint',
                                               'unsubscribe', 'other', 'unmatched', 'duplicate')),
  outreach_id bigint,
  reason      text,               -- why other/unmatched, for whoever wonders where a reply went
  received_at timestamptz,        -- the server's INTERNALDATE
  recorded_at timestamptz not null default now(),
  primary key (mailbox, folder, uidvalidity, uid)
);
create index mailbox_messages_message_id on marketing.mailbox_messages (mailbox, message_id) where message_id is not null;

-- Where each mailbox's reader has got to: every UID up to last_uid of this folder and UIDVALIDITY
-- is in the ledger. A new UIDVALIDITY (or folder) starts over at 0; the ledger's Message-IDs keep
-- messages already counted from counting again.
create table marketing.mailbox_cursors (
  mailbox     text primary key,
  folder      text not null,
  uidvalidity bigint not null,
  last_uid    bigint not null default 0,
  updated_at  timestamptz not null default now()
);
