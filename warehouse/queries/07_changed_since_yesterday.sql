-- What changed in the last 24 hours: new articles, and articles whose text changed (e.g. after a re-clean).
select case when ingested_at >= now() - interval 1 day then 'new' else 'updated' end as change,
       title, outlet, story_title, cleaner_version, updated_at
from v_articles
where updated_at >= now() - interval 1 day
order by updated_at desc;
