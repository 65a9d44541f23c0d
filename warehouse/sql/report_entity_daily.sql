-- Mentions per UTC day of the entities in $entities, in articles seen since $since.
with params as (select cast($since as timestamptz) as since)
select cast(timezone('UTC', seen_at) as date) as day, entity_id, any_value(entity) as entity,
       any_value(kind) as kind, sum(count) as mentions
from v_entity_mentions, params
where list_contains($entities, entity_id) and (since is null or seen_at >= since)
group by all
order by day, entity;
