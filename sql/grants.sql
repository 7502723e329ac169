-- What the app login role may do (the API, workers and MCP server connect as it; migrations run
-- as the owner). Re-applied by every migrate after migrations and functions, so a new table gets
-- its grants and a grant taken out here is revoked. The role's name is the setting barton.app_role,
-- the project's schemas (db/migrate.ts, PROJECT_SCHEMAS) the setting barton.schemas.
--
-- The role reads every table and writes none: no INSERT, UPDATE, DELETE or TRUNCATE anywhere,
-- no DDL, no sequences. Every write is a SECURITY DEFINER function (sql/functions/*.sql) that runs
-- as the owner with search_path pinned to pg_catalog, pg_temp and writes its audit row in the same
-- transaction; functions are executable by PUBLIC, as Postgres creates them. A row lock
-- (FOR UPDATE / FOR SHARE) needs an UPDATE right, so locks are taken by functions too
-- (vault.f_lock_contact, people.f_lock_masters, marketing.f_lock_campaign…). The staging COPY
-- goes into a temporary table that intake.f_open_batch makes and lets the role INSERT into.
do $grants$
declare
  v_role text := current_setting('barton.app_role');
  v_schemas text := (select string_agg(quote_ident(s), ', ') from unnest(string_to_array(current_setting('barton.schemas'), ',')) s);
begin
  execute format('revoke all on all tables in schema %s from %I', v_schemas, v_role);
  execute format('revoke all on all sequences in schema %s from %I', v_schemas, v_role);
  execute format('revoke all on public.schema_migrations from %I', v_role);
  execute format('grant usage on schema %s to %I', v_schemas, v_role);
  execute format('grant select on all tables in schema %s to %I', v_schemas, v_role);
  execute format('grant select on public.schema_migrations to %I', v_role);
end
$grants$;
