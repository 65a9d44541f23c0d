-- 001: the core tables. Re-runnable: every statement is idempotent.

create table if not exists runs (
    run_id              varchar primary key,
    flow_run_id         varchar,
    started_at          timestamptz not null,
    finished_at         timestamptz,
    status              varchar not null,
    sources             varchar,
    documents_seen      integer not null default 0,
    articles_new        integer not null default 0,
    articles_updated    integer not null default 0,
    articles_unchanged  integer not null default 0,
    quarantined         integer not null default 0,
    segments_removed    integer not null default 0,
    cleaner_version     varchar
);

create table if not exists documents (
    document_id   varchar primary key,
    source_uri    varchar not null,
    media_type    varchar not null,
    raw           blob,
    raw_sha256    varchar not null,
    size_bytes    bigint not null,
    fields        json,
    run_id        varchar not null,
    received_at   timestamptz not null
);

create table if not exists articles (
    article_id       varchar primary key,
    document_id      varchar not null,
    source_uri       varchar not null,
    url              varchar,
    title            varchar,
    body             varchar not null,
    published_at     timestamptz,
    author           varchar,
    language         varchar,
    sitename         varchar,
    section          varchar,
    canonical_url    varchar,
    flags            varchar[],
    extra            json,
    word_count       integer not null,
    content_hash     varchar not null,
    cleaner_version  varchar not null,
    run_id           varchar not null,
    ingested_at      timestamptz not null,
    updated_at       timestamptz not null
);

create table if not exists removed_segments (
    article_id  varchar not null,
    position    integer not null,
    text        varchar not null,
    rule        varchar not null
);

create table if not exists quarantine (
    document_id     varchar primary key,
    source_uri      varchar not null,
    stage           varchar not null,
    reasons         varchar[] not null,
    run_id          varchar not null,
    quarantined_at  timestamptz not null
);

comment on table runs is 'One row per ingest flow run: when, what was asked, and what happened (counts).';
comment on column runs.run_id is 'newsflow run id (also the Prefect flow run id when run under Prefect).';
comment on column runs.flow_run_id is 'Prefect flow run id; open it in the Prefect UI to see logs and the run artifact.';
comment on column runs.started_at is 'When the run started (UTC).';
comment on column runs.finished_at is 'When the run finished (UTC); null while running or if it crashed.';
comment on column runs.status is 'running, completed or failed.';
comment on column runs.sources is 'The sources the run was asked to ingest (paths, URLs or a configured source name).';
comment on column runs.documents_seen is 'Documents discovered in the sources, including unchanged ones.';
comment on column runs.articles_new is 'Articles loaded for the first time.';
comment on column runs.articles_updated is 'Existing articles whose cleaned content changed.';
comment on column runs.articles_unchanged is 'Documents already in the warehouse with identical content (skipped).';
comment on column runs.quarantined is 'Documents rejected into the quarantine table in this run.';
comment on column runs.segments_removed is 'Boilerplate segments removed from the articles loaded in this run.';
comment on column runs.cleaner_version is 'Version of the cleaning rules used by the run.';

comment on table documents is 'Raw input exactly as received (one row per distinct content at a location), kept so articles can be cleaned again without refetching.';
comment on column documents.document_id is 'Hash of source_uri and the raw bytes: the same input always has the same id.';
comment on column documents.source_uri is 'Where the document came from: file:// URI (with #L<n> for a JSONL line) or the fetched URL.';
comment on column documents.media_type is 'text, html or record (a JSON object), or unknown.';
comment on column documents.raw is 'The raw bytes; null when not stored (file over the size limit, unreadable).';
comment on column documents.raw_sha256 is 'SHA-256 of the raw bytes.';
comment on column documents.size_bytes is 'Size of the raw input in bytes.';
comment on column documents.fields is 'Metadata that came with the document (e.g. fetch headers, final URL).';
comment on column documents.run_id is 'The run that first received this document.';
comment on column documents.received_at is 'When the document was first received (UTC).';

comment on table articles is 'One row per distinct article (article_id is stable across runs); the latest cleaned version.';
comment on column articles.article_id is 'Stable id: hash of the article URL, or of its source location when it has no URL.';
comment on column articles.document_id is 'The raw document this version was cleaned from (documents.document_id).';
comment on column articles.source_uri is 'Where the article came from (file:// URI or URL).';
comment on column articles.url is 'The article URL, when known.';
comment on column articles.title is 'Detected or given title; null when the input has none (flag title_missing).';
comment on column articles.body is 'Cleaned article text, paragraphs separated by blank lines; boilerplate removed.';
comment on column articles.published_at is 'Publication time (UTC) when known.';
comment on column articles.author is 'Author or byline when known.';
comment on column articles.language is 'ISO 639-1 language code detected from the body (py3langid).';
comment on column articles.sitename is 'Publisher or site name from the page metadata.';
comment on column articles.section is 'Section or category label (e.g. a label above the title, or page categories).';
comment on column articles.canonical_url is 'Canonical URL declared by the page.';
comment on column articles.flags is 'Data-quality flags, e.g. title_missing, published_at_unparsed.';
comment on column articles.extra is 'Unknown input fields kept as they came (JSON records).';
comment on column articles.word_count is 'Whitespace-separated words in the body.';
comment on column articles.content_hash is 'Hash of title and body; changes when the cleaned content changes.';
comment on column articles.cleaner_version is 'Version of the cleaning rules that produced this row.';
comment on column articles.run_id is 'The run that last wrote this row.';
comment on column articles.ingested_at is 'When the article was first loaded (UTC).';
comment on column articles.updated_at is 'When the article content last changed (UTC).';

comment on table removed_segments is 'Every line the cleaner removed from an article, with the rule that removed it (audit trail).';
comment on column removed_segments.article_id is 'The article the segment was removed from.';
comment on column removed_segments.position is 'Position of the segment (line or paragraph) in the extracted text, from 0.';
comment on column removed_segments.text is 'The removed text.';
comment on column removed_segments.rule is 'Id of the rule that removed it (see tasks/rules.py).';

comment on table quarantine is 'Documents that did not become articles, with the reasons (unreadable input or failed expectations).';
comment on column quarantine.document_id is 'The rejected raw document (documents.document_id).';
comment on column quarantine.source_uri is 'Where the document came from.';
comment on column quarantine.stage is 'Where it was rejected: read, fetch, extract or validate.';
comment on column quarantine.reasons is 'Human-readable reasons, e.g. failed expectation names with details.';
comment on column quarantine.run_id is 'The run that quarantined it.';
comment on column quarantine.quarantined_at is 'When it was quarantined (UTC).';
