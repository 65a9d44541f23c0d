-- All mentions of Kim Jong Un, whatever the spelling (Kim Jong-un, Kim Jong Un, Kim): one entity.
select entity, surface_form, sum(count) as mentions, count(distinct article_id) as articles,
       list(distinct outlet order by outlet) as outlets
from v_entity_mentions
where entity_id = (select entity_id from entities where merge_key = 'kim jong un')
group by all
order by mentions desc;
