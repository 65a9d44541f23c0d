-- When the page each of these articles holds was captured: a web archive's WARC-Date, or when newsflow
-- fetched it (a document received over HTTP); null for files and records, which carry no such time.
select a.article_id,
       coalesce(try_cast(d.fields ->> 'fetched_at' as timestamptz),
                case when d.fields ->> 'http_status' is not null then d.received_at end)
from articles a
join documents d using (document_id)
where a.article_id in (select unnest(?))
