-- Golden-record resolution: a merge re-points the loser's own tombstones at the survivor
-- (update ... where merged_into = loser, in *.f_merge). Without an index that is a sequential scan
-- of every master per merge; tombstones are few, so the partial indexes stay small.
create index company_master_merged_into on company.master (merged_into) where merged_into is not null;
create index people_master_merged_into on people.master (merged_into) where merged_into is not null;
