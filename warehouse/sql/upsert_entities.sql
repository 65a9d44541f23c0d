-- One row per entity of the batch (b_entities): the most frequent specific kind in the batch wins over
-- 'other'; an existing entity keeps its name and only gains a kind it did not have. $now: load time.
insert into entities
select entity_id, arg_min(name, name), coalesce(mode(kind) filter (where kind <> 'other'), 'other'),
       any_value(merge_key), $now
from b_entities
group by entity_id
on conflict (entity_id) do update set
    kind = case when entities.kind = 'other' then excluded.kind else entities.kind end
