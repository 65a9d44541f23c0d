-- Take out of quarantine the sources the batch's articles (b_articles) now load: any version of the same
-- file, record or page (the same document re-cleaned, fixed, or fetched again: a document id is derived
-- from its source URI), and whole files that could not be read before and one of whose records now
-- loads (`feed.jsonl` when `feed.jsonl#L3` loads).
delete from quarantine
where source_uri in (select unnest([source_uri, split_part(source_uri, '#', 1)]) from b_articles);
