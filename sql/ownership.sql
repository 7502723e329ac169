-- Who owns the project's schema objects (the schemas of the setting barton.schemas) when
-- migrations log in as a superuser: the role named by the setting barton.owner_role
-- (barton_owner), which cannot log in, is not superuser and cannot bypass row-level security.
-- Every SECURITY DEFINER function runs as its owner, so none of them runs with a superuser's
-- rights. Re-applied by every migrate (after migrations and functions): what a migration or a
-- function file creates is handed over the same run. CREATE OR REPLACE keeps a function's owner;
-- identity sequences follow their tables.
do $ownership$
declare
  v_owner text := current_setting('barton.owner_role');
  v_schemas text[] := string_to_array(current_setting('barton.schemas'), ',');
  r record;
begin
  for r in select n.nspname from pg_namespace n
            where n.nspname = any (v_schemas) and n.nspowner <> to_regrole(v_owner) loop
    execute format('alter schema %I owner to %I', r.nspname, v_owner);
  end loop;
  for r in select c.oid::regclass as rel from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any (v_schemas) and c.relkind in ('r', 'p', 'v', 'm') and c.relowner <> to_regrole(v_owner) loop
    execute format('alter table %s owner to %I', r.rel, v_owner);
  end loop;
  for r in select p.oid::regprocedure as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = any (v_schemas) and p.proowner <> to_regrole(v_owner) loop
    execute format('alter function %s owner to %I', r.fn, v_owner);
  end loop;
end
$ownership$;
