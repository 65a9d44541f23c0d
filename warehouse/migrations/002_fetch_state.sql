-- 002: what the fetcher remembers between runs. Re-runnable: every statement is idempotent.

create table if not exists fetch_state (
    url             varchar primary key,
    source          varchar not null,
    final_url       varchar,
    etag            varchar,
    last_modified   varchar,
    content_sha256  varchar,
    last_status     integer,
    last_error      varchar,
    fetched_at      timestamptz not null
);

create table if not exists seen_items (
    source         varchar not null,
    item_url       varchar not null,
    first_seen_at  timestamptz not null,
    primary key (source, item_url)
);

comment on table fetch_state is 'One row per fetched URL (page, feed or sitemap): what the last request returned, so the next run can ask "changed since?" and skip unchanged content.';
comment on column fetch_state.url is 'The URL as requested (before redirects).';
comment on column fetch_state.source is 'The configured source (or "cli") that last fetched it.';
comment on column fetch_state.final_url is 'Where redirects ended; null when the request failed.';
comment on column fetch_state.etag is 'ETag of the last successful response, sent back as If-None-Match.';
comment on column fetch_state.last_modified is 'Last-Modified of the last successful response, sent back as If-Modified-Since.';
comment on column fetch_state.content_sha256 is 'SHA-256 of the last body received; an identical body is not processed again.';
comment on column fetch_state.last_status is 'HTTP status of the last answer (304 = not modified); null when no answer.';
comment on column fetch_state.last_error is 'Why the last fetch failed (same text as in quarantine), or null.';
comment on column fetch_state.fetched_at is 'When the URL was last requested (UTC).';

comment on table seen_items is 'Feed and sitemap items already fetched per source; later runs skip them.';
comment on column seen_items.source is 'The configured source (or "cli").';
comment on column seen_items.item_url is 'The item URL as listed in the feed or sitemap.';
comment on column seen_items.first_seen_at is 'When the item was first fetched (UTC).';
