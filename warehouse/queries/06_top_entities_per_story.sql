-- Who a story is about: the most mentioned people, organisations and places in each story.
select story_id, kind, entity, sum(count) as mentions, count(distinct article_id) as articles
from v_entity_mentions
where kind <> 'other'
group by story_id, kind, entity
qualify row_number() over (partition by story_id, kind order by mentions desc) <= 5
order by story_id, kind, mentions desc;
