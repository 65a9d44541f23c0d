-- 012: articles.extraction also names trafilatura's fast pass, which the cleaner takes where its text
-- is long and made of paragraphs (tasks/extract.py).
comment on column articles.extraction is 'Which extraction produced the body: trafilatura (its full cascade) or trafilatura-fast (its fast pass, taken where that text is long and made of paragraphs) for HTML pages, text for plain text, record for a JSON record''s text; null for rows loaded before migration 011.';
