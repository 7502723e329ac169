-- Field history is an append-only log: each promotion chunk writes about a dozen rows per new
-- person, and a foreign-key check per row (an index probe plus a key-share lock on the master
-- row) cost more than the insert itself. Masters are never deleted (a merge leaves a tombstone),
-- so every history row keeps naming a master without the check.
alter table people.history drop constraint if exists history_person_id_fkey;
alter table company.history drop constraint if exists history_company_id_fkey;
