-- 021: an article whose date, author, outlet, section, URLs or flags change (the same text corrected
-- upstream) counts as updated, and its updated_at moves (warehouse/sql/article_status.sql).
comment on column runs.articles_updated is 'Existing articles that changed: title, body, date, author, outlet (sitename), section, URLs or flags.';
comment on column runs.articles_unchanged is 'Documents already in the warehouse (skipped), and articles that came out as stored.';
comment on column articles.updated_at is 'When the article last changed (UTC): its title, body, date, author, outlet (sitename), section, URLs or flags.';
