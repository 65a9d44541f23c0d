-- The local search mirror of a lake (tasks/lake.py: lake_search_index): the articles' id, title, body
-- and content hash (lake_search_table.sql), brought up to date with the lake attached as `lake`; only
-- what changed is copied.
-- tasks.search.index_articles then re-indexes just the articles whose hash changed.
delete from articles where article_id in (
    select a.article_id from articles a left join lake.articles l using (article_id)
    where l.article_id is null or l.content_hash <> a.content_hash
);
insert into articles
select l.article_id, l.title, l.body, l.content_hash
from lake.articles l anti join articles a using (article_id);
create or replace view v_articles as select * from lake.v_articles;
