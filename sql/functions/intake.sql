-- Staging functions (seed: "Data Ingestion Flow"). Re-applied after every migration run.
-- Every function that writes runs as its owner (SECURITY DEFINER, search_path pinned, every name
-- schema-qualified): the processes' role cannot write the intake tables itself.

-- Opens a batch: its row, and (when the batch is new) this transaction's staging table, into
-- which the caller COPYs (row_no, payload) before f_close_batch moves the rows into
-- intake.batch_rows. The caller may only INSERT into that table; it is dropped at commit.
-- A batch id seen before returns staged = false with what was stored, and opens nothing.
create or replace function intake.f_open_batch(p_batch_id text, p_source text, p_actor text default null)
returns table (staged boolean, source text, row_count integer)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into intake.batches (batch_id, source, row_count, actor) values (p_batch_id, p_source, 0, p_actor)
  on conflict (batch_id) do nothing;
  if not found then
    return query select false, b.source, b.row_count from intake.batches b where b.batch_id = p_batch_id;
    return;
  end if;
  create temp table intake_staged_rows (row_no integer not null, payload jsonb not null) on commit drop;
  execute format('grant insert on pg_temp.intake_staged_rows to %I', session_user);
  return query select true, p_source, 0;
end
$$;

-- Closes a batch opened in this transaction: its staged rows into intake.batch_rows, the row
-- count on the batch. Returns the count (0: the caller refuses the empty batch and rolls back).
create or replace function intake.f_close_batch(p_batch_id text) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_rows integer;
begin
  insert into intake.batch_rows (batch_id, row_no, payload)
  select p_batch_id, s.row_no, s.payload from pg_temp.intake_staged_rows s;
  get diagnostics v_rows = row_count;
  update intake.batches set row_count = v_rows where batch_id = p_batch_id;
  drop table pg_temp.intake_staged_rows;
  return v_rows;
end
$$;

-- The staged copy of a batch, once every chunk is in raw_loads. Idempotent.
create or replace function intake.f_drop_staged_rows(p_batch_id text) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  delete from intake.batch_rows where batch_id = p_batch_id
$$;

-- A promoted chunk's ledger row (db/promotion.ts writes it in the chunk's own transaction).
create or replace function intake.f_record_promotion_chunk(
  p_run_key text, p_chunk_no integer, p_load_count integer, p_last_load_id bigint,
  p_promoted integer, p_updated integer, p_failed integer
) returns void
language sql security definer set search_path = pg_catalog, pg_temp as $$
  insert into intake.promotion_chunks (run_key, chunk_no, load_count, last_load_id, promoted, updated, failed)
  values (p_run_key, p_chunk_no, p_load_count, p_last_load_id, p_promoted, p_updated, p_failed)
$$;

-- Stage rows (seed: intake.f_ingest_json): duplicates of an email (or, without one, of the same
-- payload) that the same source sent in the last 30 days, or earlier among these rows, are kept
-- with status 'duplicate'; the others are 'pending' and audited as 'contact_ingested'. Another
-- source bringing a known person is not a duplicate: it is a second opinion for the golden
-- record. Set-based: one statement for all rows. p_row_nos numbers the payloads in their batch.
-- Calls for one source run one after another: a lock per source, held to commit, is taken before
-- the classifying statement (whose snapshot then sees every earlier call's committed rows), so
-- two batches of a source in flight at once cannot both stage an email as new. Sources stay parallel.
create or replace function intake.f_stage_rows(
  p_source      text,
  p_batch_id    text,
  p_row_nos     integer[],
  p_payloads    jsonb[],
  p_actor       text default null,
  p_workflow_id text default null
) returns table (inserted integer, skipped integer)
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select pg_advisory_xact_lock(hashtext('stage:' || p_source));

  with input as (
    select t.row_no, t.raw, e.email,
           case when e.email is null then md5(t.raw::text) end as row_hash
    from unnest(p_row_nos, p_payloads) as t(row_no, raw)
    cross join lateral (select nullif(lower(btrim(t.raw ->> 'email')), '') as email) e
  ),
  classified as (
    select i.*,
           case
             when row_number() over (partition by coalesce(i.email, i.row_hash) order by i.row_no) > 1 then 'duplicate'
             when i.email is not null and exists (
               select 1 from intake.raw_loads l
               where l.email = i.email and l.source = p_source and l.created_at > now() - interval '30 days') then 'duplicate'
             when i.email is null and exists (
               select 1 from intake.raw_loads l
               where l.email is null and l.row_hash = i.row_hash and l.source = p_source and l.created_at > now() - interval '30 days') then 'duplicate'
             else 'pending'
           end as status
    from input i
  ),
  staged as (
    insert into intake.raw_loads (batch_id, row_no, source, raw, email, row_hash, status)
    select p_batch_id, c.row_no, p_source, c.raw, c.email, c.row_hash, c.status
    from classified c
    order by c.row_no
    returning load_id, email, status
  ),
  audited as (
    insert into intake.audit_log (actor, action, entity, entity_id, after, workflow_id)
    select p_actor, 'contact_ingested', 'raw_load', s.load_id::text,
           jsonb_build_object('batch_id', p_batch_id, 'email', s.email), p_workflow_id
    from staged s where s.status = 'pending'
  )
  select (count(*) filter (where status = 'pending'))::integer,
         (count(*) filter (where status = 'duplicate'))::integer
  from staged
$$;

-- The seed's signature: a JSON array of rows, numbered from p_first_row_no.
create or replace function intake.f_ingest_json(
  p_source       text,
  p_batch_id     text,
  p_rows         jsonb,
  p_first_row_no integer default 1,
  p_actor        text default null,
  p_workflow_id  text default null
) returns table (inserted integer, skipped integer)
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select s.* from (
    select array_agg((p_first_row_no + t.ord - 1)::integer order by t.ord) as row_nos,
           array_agg(t.value order by t.ord) as payloads
    from jsonb_array_elements(p_rows) with ordinality as t(value, ord)
  ) a
  cross join lateral intake.f_stage_rows(p_source, p_batch_id, a.row_nos, a.payloads, p_actor, p_workflow_id) s
$$;

-- One chunk of a staged upload, exactly once: the ledger row and the staged rows commit together.
-- A second call for the same chunk (an activity retried after its commit) returns the stored counts.
create or replace function intake.f_ingest_chunk(
  p_batch_id    text,
  p_chunk_no    integer,
  p_chunk_size  integer,
  p_actor       text default null,
  p_workflow_id text default null
) returns table (inserted integer, skipped integer, row_count integer)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_source   text;
  v_first    integer := p_chunk_no * p_chunk_size + 1;
  v_row_nos  integer[];
  v_payloads jsonb[];
  v_inserted integer := 0;
  v_skipped  integer := 0;
begin
  -- serialize attempts at the same chunk (a timed-out attempt may still be running)
  perform pg_advisory_xact_lock(hashtext('ingest:' || p_batch_id), p_chunk_no);

  return query
    select c.inserted, c.skipped, (c.inserted + c.skipped)
    from intake.ingest_chunks c where c.batch_id = p_batch_id and c.chunk_no = p_chunk_no;
  if found then return; end if;

  select b.source into v_source from intake.batches b where b.batch_id = p_batch_id;
  if v_source is null then
    raise exception 'batch % is not staged', p_batch_id using errcode = 'no_data_found';
  end if;

  select array_agg(r.row_no order by r.row_no), array_agg(r.payload order by r.row_no)
  into v_row_nos, v_payloads
  from intake.batch_rows r
  where r.batch_id = p_batch_id and r.row_no between v_first and v_first + p_chunk_size - 1;

  if v_row_nos is not null then
    select s.inserted, s.skipped into v_inserted, v_skipped
    from intake.f_stage_rows(v_source, p_batch_id, v_row_nos, v_payloads, p_actor, p_workflow_id) s;
  end if;
  insert into intake.ingest_chunks (batch_id, chunk_no, inserted, skipped)
  values (p_batch_id, p_chunk_no, v_inserted, v_skipped);
  return query select v_inserted, v_skipped, v_inserted + v_skipped;
end
$$;
