-- Whether each article of the batch (b_articles) is new, updated (another content hash) or unchanged.
-- $ids: the batch's article ids; list_contains filters inside the scan of articles.
select b.article_id,
       case when a.article_id is null then 'new'
            when a.content_hash = b.content_hash then 'unchanged'
            else 'updated' end as status
from b_articles b
left join (select article_id, content_hash from articles where list_contains($ids, article_id)) a
    using (article_id)
