-- The report's breakdowns name a campaign's top segments by messages sent (breakdown_limit, 20 by
-- default). analytics.campaign_segments is sharded by writer, so ranking it meant summing every
-- segment row of the campaign per request: one per company domain mailed (≈ 20,000 for a
-- 33,000-recipient campaign at bench:analytics' default size). This unsharded copy of the sent
-- counts, in rank order by its index, gives the top N by an index scan; the report then sums
-- the shards of those N only. f_count_sends keeps it in the confirming transaction, which
-- already holds the campaign's row (marketing.f_confirm_sends counts sent_count there), so it
-- adds no wait between writers.
create table analytics.campaign_segment_ranks (
  campaign_id bigint not null,
  dimension   text not null,
  value       text not null,
  sent        bigint not null default 0,
  primary key (campaign_id, dimension, value)
);
create index campaign_segment_ranks_top on analytics.campaign_segment_ranks (campaign_id, dimension, sent desc, value);

insert into analytics.campaign_segment_ranks (campaign_id, dimension, value, sent)
select campaign_id, dimension, value, sum(sent) from analytics.campaign_segments group by 1, 2, 3;

-- The report's median time to conversion groups the campaign's linear-model attribution rows by
-- conversion: read in that order from this index alone, not from the heap.
create index attribution_campaign_linear on marketing.attribution (campaign_id, conversion_id)
  include (converted_at, touched_at) where model = 'linear';
