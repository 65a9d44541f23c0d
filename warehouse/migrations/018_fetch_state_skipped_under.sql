-- 018: a feed or sitemap whose items some were skipped for their domain remembers the allowed_domains
-- it was read with, so that a run with other allowed_domains reads it whole instead of trusting its 304.
alter table fetch_state add column if not exists skipped_under varchar;

comment on column fetch_state.skipped_under is 'For a feed or sitemap whose last read skipped items (or child sitemaps) for their domain: the allowed_domains it was read with, comma-separated; null when it skipped none. A run with other allowed_domains reads it whole again, without sending its validators.';
