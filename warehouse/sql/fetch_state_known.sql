-- What the fetcher remembers about every URL, and for the source $source which failed items are due
-- for another attempt ('due') or still backing off ('waiting').
select url, etag, last_modified, content_sha256, coalesce(failures, 0) as failures, fetched_at,
       case when next_attempt_at is null or source <> $source then null
            when next_attempt_at <= now() then 'due'
            else 'waiting' end as retry
from fetch_state;
