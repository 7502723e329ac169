-- Issue 11, Imports view: a batch's failed rows (GET /api/ingest/:batchId/failed.csv) read in
-- row order without walking the batch's other rows. Failed rows are few, so the index is small.
create index raw_loads_failed_batch on intake.raw_loads (batch_id, row_no) where status = 'failed';
