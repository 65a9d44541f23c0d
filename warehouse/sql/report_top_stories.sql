-- The $limit stories with the most outlets (then articles) among articles seen since $since.
with params as (select cast($since as timestamptz) as since),
recent as (
    select story_id, story_title, outlet, seen_at from v_articles, params
    where story_id is not null and (since is null or seen_at >= since)
)
select story_id,
       any_value(story_title) as story_title,
       count(*) as articles,
       count(distinct outlet) as outlet_count,
       list(distinct outlet order by outlet) as outlets,
       min(seen_at) as first_seen,
       max(seen_at) as last_seen
from recent
group by story_id
order by outlet_count desc, articles desc, last_seen desc, story_id
limit $limit;
