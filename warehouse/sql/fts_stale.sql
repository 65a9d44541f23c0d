-- Indexed articles whose postings must leave the index: deleted, or changed since they were indexed.
-- $ids: the article ids to look at (a batch), or null for all. list_contains filters inside the scan of
-- docs, so a batch costs the size of the batch, not of the index.
create or replace temp table fts_stale as
select d.docid
from fts_main_articles.docs d left join articles a on a.article_id = d.name
where (a.article_id is null or a.content_hash is distinct from d.content_hash)
  and ($ids is null or list_contains($ids, d.name));
