-- 011: which extraction produced each article's text, and how sure the cleaner is of it. Rows loaded
-- before this migration keep nulls until `newsflow reclean` cleans them again.
alter table articles add column if not exists extraction varchar;
alter table articles add column if not exists extraction_confidence double;
comment on column articles.extraction is 'Which extraction produced the body: trafilatura for HTML pages, text for plain text, record for a JSON record''s text; null for rows loaded before migration 011.';
comment on column articles.extraction_confidence is 'How sure the cleaner is that the body is the article''s main text, 0 to 1: for HTML the estimated probability that its token F1 against a human''s main text is at least 0.9 (tasks/confidence.py); 1 for text given as such.';
