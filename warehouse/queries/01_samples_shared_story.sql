-- The five bundled samples' shared story and the outlets that covered it.
select story_id, story_title, articles, outlet_count, outlets, first_seen, last_seen
from v_story_coverage
where story_id in (select story_id from v_articles where source_uri like '%/data/samples/%')
order by articles desc;
