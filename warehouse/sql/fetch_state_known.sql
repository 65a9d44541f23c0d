-- What the fetcher remembers about every URL, and for the source $source which failed items are due
-- for another attempt ('due') or still backing off ('waiting').
-- The validators (ETag, Last-Modified, body hash) are the source's own: another source's, or a hand run's, would
-- make a feed it read answer 304 to a source that has never read its items.
select url,
       case when source = $source then etag end as etag,
       case when source = $source then last_modified end as last_modified,
       case when source = $source then content_sha256 end as content_sha256,
       coalesce(failures, 0) as failures, fetched_at,
       case when source = $source then skipped_under end as skipped_under,
       case when next_attempt_at is null or source <> $source then null
            when next_attempt_at <= now() then 'due'
            else 'waiting' end as retry
from fetch_state;
