-- Insert the batch's articles (b_articles) or update them in place; updated_at moves only when the
-- article changed, as article_status.sql tells it (b_articles.now: the load's timestamp). Columns are
-- named: later migrations append columns at the table's end.
insert into articles (article_id, document_id, source_uri, url, title, body, published_at, author, language,
                      sitename, section, canonical_url, flags, extra, word_count, content_hash, cleaner_version,
                      run_id, ingested_at, updated_at, extraction, extraction_confidence)
select article_id, document_id, source_uri, url, title, body, try_cast(published_at as timestamptz),
       author, language, sitename, section, canonical_url, flags, extra::json, word_count, content_hash,
       cleaner_version, run_id, now, now, extraction, extraction_confidence
from b_articles
on conflict (article_id) do update set
    document_id = excluded.document_id, source_uri = excluded.source_uri, url = excluded.url,
    title = excluded.title, body = excluded.body, published_at = excluded.published_at,
    author = excluded.author, language = excluded.language, sitename = excluded.sitename,
    section = excluded.section, canonical_url = excluded.canonical_url, flags = excluded.flags,
    extra = excluded.extra, word_count = excluded.word_count, cleaner_version = excluded.cleaner_version,
    run_id = excluded.run_id, extraction = excluded.extraction,
    extraction_confidence = excluded.extraction_confidence,
    updated_at = case when articles.content_hash = excluded.content_hash and articles.url is not distinct from excluded.url
                           and articles.published_at is not distinct from excluded.published_at
                           and articles.author is not distinct from excluded.author
                           and articles.sitename is not distinct from excluded.sitename
                           and articles.section is not distinct from excluded.section
                           and articles.canonical_url is not distinct from excluded.canonical_url
                           and articles.flags is not distinct from excluded.flags then articles.updated_at
                      else excluded.updated_at end,
    content_hash = excluded.content_hash
