-- Issue 10, signed provider webhooks: the tokens of signatures already accepted, so a captured
-- request cannot be replayed. A signature is good for 5 minutes, so older tokens are pruned.
create table auth.webhook_tokens (
  token   text primary key,
  seen_at timestamptz not null default now()
);
create index webhook_tokens_seen_at on auth.webhook_tokens (seen_at);
