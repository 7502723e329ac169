-- Issue 10, workspaces: an agency's clients each get one. This step gives API keys their
-- workspace (the key lists and admin routes of a workspace see its keys only); the business rows
-- follow. Existing keys, and keys made without one, belong to the default workspace (id 1).
create table auth.workspaces (
  workspace_id integer generated always as identity primary key,
  slug         text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name         text not null check (length(name) between 1 and 200),
  created_at   timestamptz not null default now()
);
insert into auth.workspaces (slug, name) values ('default', 'Default workspace');

alter table auth.api_keys add column workspace_id integer not null default 1 references auth.workspaces (workspace_id);
create index api_keys_workspace_id on auth.api_keys (workspace_id, key_id);

-- sql/functions/api-keys.sql makes it again with the key's workspace
drop function if exists auth.f_create_api_key(text, text, text, text[], integer, timestamptz);

-- Views read their tables with the reader's rights (and, once tables have policies, under them).
alter view people.history set (security_invoker = true);
alter view company.history set (security_invoker = true);
