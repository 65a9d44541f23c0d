-- Documents received before that their source has since replaced: an earlier version of a file, JSON
-- record or page whose article now holds another version from the same source (edited, then edited
-- back). Neither an article's document nor in quarantine: a rejected version still stays skipped.
select d.document_id
from documents d
where d.source_uri in (select source_uri from articles)
  and d.document_id not in (select document_id from articles)
  and d.document_id not in (select document_id from quarantine)
