-- 013: articles.extraction also says when lines of a second extraction (resiliparse) were taken back
-- into the body (tasks/recover.py).
comment on column articles.extraction is 'Which extraction produced the body: trafilatura (its full cascade) or trafilatura-fast (its fast pass, taken where that text is long and made of paragraphs) for HTML pages, with +resiliparse when lines of resiliparse''s main-content text that trafilatura left out were taken back by the line-recovery model; text for plain text, record for a JSON record''s text; null for rows loaded before migration 011.';
