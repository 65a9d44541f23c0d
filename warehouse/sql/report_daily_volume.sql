-- Articles per UTC $unit ('day' or 'month') and outlet, seen since $since and on or after the UTC day
-- $start (null: no bound): the $outlets busiest outlets by name, the rest as 'other'.
with params as (select cast($since as timestamptz) as since, cast($start as date) as start),
recent as (
    select outlet, cast(timezone('UTC', seen_at) as date) as day
    from v_articles, params
    where (since is null or seen_at >= since) and (start is null or cast(timezone('UTC', seen_at) as date) >= start)
),
busiest as (
    select outlet from recent group by outlet order by count(*) desc, outlet limit $outlets
)
select cast(date_trunc($unit, day) as date) as day,
       case when outlet in (select outlet from busiest) then outlet else 'other' end as outlet,
       count(*) as articles
from recent
group by all
order by day, outlet;
