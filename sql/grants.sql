-- What the app login role may do (the API, workers and MCP server connect as it; migrations run
-- as the owner). Re-applied by every migrate after migrations and functions, so a new table gets
-- its grants and a grant taken out here is revoked. The role's name is the setting barton.app_role.
--
-- The role reads every table. It never truncates, alters or owns anything, and the audit log is
-- append-only for it. The writes it still makes directly, or through functions that run with its
-- rights, are granted table by table below; a table whose writes have moved into SECURITY DEFINER
-- functions (pinned search_path) leaves the list, and from then on the database refuses any
-- direct write to it.
do $grants$
declare
  v_role text := current_setting('barton.app_role');
  v_schemas text := 'intake, vault, company, people, enrich, marketing, auth, ops, analytics';
begin
  execute format('revoke all on all tables in schema %s from %I', v_schemas, v_role);
  execute format('revoke all on all sequences in schema %s from %I', v_schemas, v_role);
  execute format('revoke all on public.schema_migrations from %I', v_role);
  execute format('grant usage on schema %s to %I', v_schemas, v_role);
  execute format('grant select on all tables in schema %s to %I', v_schemas, v_role);
  execute format('grant select on public.schema_migrations to %I', v_role);

  -- Direct writes still made with the app role's own rights (#10 moves them into functions).
  -- Not here, written only by SECURITY DEFINER functions: analytics (the rollups).
  execute format('grant insert, update, delete on all tables in schema intake to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema vault to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema company to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema people to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema enrich to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema marketing to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema auth to %I', v_role);
  execute format('grant insert, update, delete on all tables in schema ops to %I', v_role);
  execute format('grant usage on all sequences in schema %s to %I', v_schemas, v_role);

  -- Append-only: rows are added, never changed or removed (f_refuse_audit_change says so too).
  execute format('revoke update, delete on intake.audit_log from %I', v_role);
end
$grants$;
