-- Take out of quarantine the sources the batch's articles (b_articles) now load: the same documents
-- (re-cleaned), other versions of the same file, record or page (fixed, or fetched again), and whole
-- files that could not be read before and one of whose records now loads (`feed.jsonl` when
-- `feed.jsonl#L3` loads).
delete from quarantine
where document_id in (select document_id from b_articles)
   or source_uri in (select source_uri from b_articles)
   or source_uri in (select split_part(source_uri, '#', 1) from b_articles);
