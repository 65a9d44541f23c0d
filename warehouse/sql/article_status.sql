-- Whether each article of the batch (b_articles) is new, updated or unchanged: updated when its title or
-- body (content_hash) or what analysts count and sort by changed: the date, author, outlet, section, URLs,
-- flags (a record or page corrected upstream: the same text, another byline or day). The same test moves
-- `updated_at` in upsert_articles.sql. $ids: the batch's article ids; list_contains filters inside the scan.
select b.article_id,
       case when a.article_id is null then 'new'
            when a.content_hash = b.content_hash and a.url is not distinct from b.url
                 and a.published_at is not distinct from try_cast(b.published_at as timestamptz)
                 and a.author is not distinct from b.author and a.sitename is not distinct from b.sitename
                 and a.section is not distinct from b.section
                 and a.canonical_url is not distinct from b.canonical_url and a.flags is not distinct from b.flags
                 then 'unchanged'
            else 'updated' end as status
from b_articles b
left join (select article_id, content_hash, url, published_at, author, sitename, section, canonical_url, flags
           from articles where list_contains($ids, article_id)) a
    using (article_id)
