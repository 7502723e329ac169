-- Staging functions (seed: "Data Ingestion Flow"). Re-applied after every migration run.

-- Stage a chunk of rows: duplicates of an email (or, without one, of the same payload) seen in the
-- last 30 days, or earlier in the same chunk, are kept with status 'duplicate'; the others are
-- 'pending' and audited as 'contact_ingested'. Set-based: one statement per chunk.
create or replace function intake.f_ingest_json(
  p_source      text,
  p_batch_id    text,
  p_rows        jsonb,
  p_first_row_no integer default 1,
  p_actor       text default null,
  p_workflow_id text default null
) returns table (inserted integer, skipped integer)
language sql as $$
  with input as (
    select (p_first_row_no + t.ord - 1)::integer as row_no,
           t.value as raw,
           nullif(lower(btrim(t.value ->> 'email')), '') as email,
           md5(t.value::text) as row_hash
    from jsonb_array_elements(p_rows) with ordinality as t(value, ord)
  ),
  classified as (
    select i.*,
           case
             when row_number() over (partition by coalesce(i.email, i.row_hash) order by i.row_no) > 1 then 'duplicate'
             when i.email is not null and exists (
               select 1 from intake.raw_loads l
               where l.email = i.email and l.created_at > now() - interval '30 days') then 'duplicate'
             when i.email is null and exists (
               select 1 from intake.raw_loads l
               where l.email is null and l.row_hash = i.row_hash and l.created_at > now() - interval '30 days') then 'duplicate'
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

-- One chunk of a staged upload, exactly once: the ledger row and the staged rows commit together.
-- A second call for the same chunk (an activity retried after its commit) returns the stored counts.
create or replace function intake.f_ingest_chunk(
  p_batch_id    text,
  p_chunk_no    integer,
  p_chunk_size  integer,
  p_actor       text default null,
  p_workflow_id text default null
) returns table (inserted integer, skipped integer, row_count integer)
language plpgsql as $$
declare
  v_source text;
  v_rows   jsonb;
  v_first  integer := p_chunk_no * p_chunk_size + 1;
  v_count  integer;
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

  select jsonb_agg(r.payload order by r.row_no), count(*) into v_rows, v_count
  from intake.batch_rows r
  where r.batch_id = p_batch_id and r.row_no between v_first and v_first + p_chunk_size - 1;

  if v_count = 0 then
    insert into intake.ingest_chunks (batch_id, chunk_no, inserted, skipped) values (p_batch_id, p_chunk_no, 0, 0);
    return query select 0, 0, 0;
    return;
  end if;

  return query
    with counts as (
      select * from intake.f_ingest_json(v_source, p_batch_id, v_rows, v_first, p_actor, p_workflow_id)
    ), ledger as (
      insert into intake.ingest_chunks (batch_id, chunk_no, inserted, skipped)
      select p_batch_id, p_chunk_no, counts.inserted, counts.skipped from counts
      returning ingest_chunks.inserted, ingest_chunks.skipped
    )
    select ledger.inserted, ledger.skipped, v_count from ledger;
end
$$;
