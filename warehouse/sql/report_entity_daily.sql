-- Mentions per UTC $unit ('day' or 'month') of the entities in $entities, in articles seen since $since
-- and on or after the UTC day $start (null: no bound).
with params as (select cast($since as timestamptz) as since, cast($start as date) as start)
select cast(date_trunc($unit, cast(timezone('UTC', seen_at) as date)) as date) as day, entity_id,
       any_value(entity) as entity, any_value(kind) as kind, sum(count) as mentions
from v_entity_mentions, params
where list_contains($entities, entity_id) and (since is null or seen_at >= since)
  and (start is null or cast(timezone('UTC', seen_at) as date) >= start)
group by all
order by day, entity;
