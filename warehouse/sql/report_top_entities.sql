-- The $limit most mentioned people, organisations and places in articles seen since $since.
with params as (select cast($since as timestamptz) as since),
counted as (
    select entity_id, any_value(entity) as entity, kind, sum(count) as mentions,
           count(distinct article_id) as articles
    from v_entity_mentions, params
    where kind in ('person', 'org', 'place') and (since is null or seen_at >= since)
    group by entity_id, kind
)
select kind, entity_id, entity, mentions, articles
from counted
qualify row_number() over (partition by kind order by mentions desc, entity) <= $limit
order by kind, mentions desc, entity;
