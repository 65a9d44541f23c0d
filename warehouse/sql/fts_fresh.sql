-- Articles to (re)index: new, or changed since they were indexed; each gets a new docid after the
-- highest in use. $ids: the article ids to look at (a batch), or null for all; list_contains filters
-- inside the scan of articles.
create or replace temp table fts_fresh as
select (select coalesce(max(docid), -1) from fts_main_articles.docs) + row_number() over (order by a.article_id)
           as docid,
       a.article_id as name, a.content_hash, a.title, a.body
from articles a left join fts_main_articles.docs d on d.name = a.article_id
where (d.name is null or d.content_hash is distinct from a.content_hash)
  and ($ids is null or list_contains($ids, a.article_id));
