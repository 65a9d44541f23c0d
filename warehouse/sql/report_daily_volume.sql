-- Articles per UTC day and outlet since $since: the $outlets busiest outlets by name, the rest as 'other'.
with params as (select cast($since as timestamptz) as since),
recent as (
    select outlet, cast(timezone('UTC', seen_at) as date) as day
    from v_articles, params
    where since is null or seen_at >= since
),
busiest as (
    select outlet from recent group by outlet order by count(*) desc, outlet limit $outlets
)
select day,
       case when outlet in (select outlet from busiest) then outlet else 'other' end as outlet,
       count(*) as articles
from recent
group by all
order by day, outlet;
