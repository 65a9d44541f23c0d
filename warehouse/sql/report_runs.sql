-- Ingest runs since $since per $unit ('hour', 'day' or 'week'): runs, articles new / updated,
-- documents quarantined, runs that did not complete.
with params as (select cast($since as timestamptz) as since)
select date_trunc($unit, timezone('UTC', started_at)) as period,
       count(*) as runs,
       sum(articles_new) as new,
       sum(articles_updated) as updated,
       sum(quarantined) as quarantined,
       count(*) filter (where status <> 'completed') as not_completed
from runs, params
where since is null or started_at >= since
group by all
order by period;
