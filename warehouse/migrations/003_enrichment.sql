-- 003: enrichment tables for analysts: stories (near-duplicate groups), entities and their mentions,
-- citations. Re-runnable: every statement is idempotent. Existing rows in 001 tables are untouched;
-- articles loaded before this migration are enriched by the next `newsflow reclean` (backfill).

create table if not exists stories (
    story_id          varchar primary key,
    first_article_id  varchar not null,
    title             varchar,
    created_at        timestamptz not null
);

create table if not exists story_articles (
    article_id          varchar primary key,
    story_id            varchar not null,
    matched_article_id  varchar,
    similarity          double,
    feature_count       integer not null,
    signature           ubigint[] not null,
    assigned_at         timestamptz not null
);

create table if not exists story_bands (
    band        smallint not null,
    bucket      bigint not null,
    article_id  varchar not null
);

create table if not exists entities (
    entity_id   varchar primary key,
    name        varchar not null,
    kind        varchar not null,
    merge_key   varchar not null,
    first_seen  timestamptz not null
);

create table if not exists mentions (
    article_id    varchar not null,
    entity_id     varchar not null,
    surface_form  varchar not null,
    count         integer not null
);

create table if not exists citations (
    article_id  varchar not null,
    outlet      varchar not null,
    outlet_key  varchar not null,
    pattern     varchar not null,
    sentence    varchar not null,
    in_body     boolean not null
);

comment on table stories is 'Groups of articles about the same event (syndicated copies, rewrites, other outlets), found by MinHash/LSH over entity sets (word 3-shingles for articles naming fewer than 5 entities). One row per story.';
comment on column stories.story_id is 'Stable story id: the article_id of the first article that started it.';
comment on column stories.first_article_id is 'The article that started the story (articles.article_id).';
comment on column stories.title is 'Title of the first article, as a label for the story.';
comment on column stories.created_at is 'When the story was created (UTC).';

comment on table story_articles is 'Which story each article belongs to, why (the closest stored article and the estimated Jaccard similarity), and its MinHash signature for incremental matching.';
comment on column story_articles.article_id is 'The article (articles.article_id).';
comment on column story_articles.story_id is 'Its story (stories.story_id).';
comment on column story_articles.matched_article_id is 'The most similar earlier article that put it into this story; null when it started the story.';
comment on column story_articles.similarity is 'Estimated Jaccard similarity of entity sets to matched_article_id (MinHash); null when it started the story.';
comment on column story_articles.feature_count is 'Number of distinct features in the signature: entity keys, or word 3-shingles when the article names fewer than 5 entities.';
comment on column story_articles.signature is 'MinHash signature (num_perm unsigned 64-bit values) of the article''s feature set (see feature_count).';
comment on column story_articles.assigned_at is 'When the story was assigned (UTC).';

comment on table story_bands is 'LSH band buckets of every stored signature: a new article is matched by joining its buckets here, not by rescanning all articles.';
comment on column story_bands.band is 'Band number (0 .. b-1) of the LSH index.';
comment on column story_bands.bucket is 'Hash of the signature rows in that band.';
comment on column story_bands.article_id is 'The article whose signature falls into this bucket.';

comment on table entities is 'People, organisations and places, one row per normalized name: spelling variants (Kim Jong-un / Kim Jong Un) share one entity.';
comment on column entities.entity_id is 'Stable id: hash of merge_key.';
comment on column entities.name is 'Display name: the first surface form seen.';
comment on column entities.kind is 'person, org, place or other (rule-based guess, see docs/warehouse.md).';
comment on column entities.merge_key is 'Normalized name that variants share: ASCII, lower case, no hyphens, transliteration variants folded (y/i, ey/ei, kh/h).';
comment on column entities.first_seen is 'When the entity was first extracted (UTC).';

comment on table mentions is 'Which entities each article mentions, per surface form, with a count.';
comment on column mentions.article_id is 'The article (articles.article_id).';
comment on column mentions.entity_id is 'The entity (entities.entity_id).';
comment on column mentions.surface_form is 'The name as written in the article (e.g. Kim Jong-un, Kim, Sergei Shoigu).';
comment on column mentions.count is 'How many times this surface form occurs in the article body.';

comment on table citations is 'Attributions to other outlets found in the text ("according to a report by The New York Times", "found via Reuters", "as cited by Yonhap").';
comment on column citations.article_id is 'The citing article (articles.article_id).';
comment on column citations.outlet is 'The cited outlet as written, without a leading "the".';
comment on column citations.outlet_key is 'Lower-case outlet name for grouping (the new york times -> new york times).';
comment on column citations.pattern is 'Id of the attribution pattern that matched (see tasks/citations.py).';
comment on column citations.sentence is 'The sentence containing the attribution.';
comment on column citations.in_body is 'False when the sentence is in a segment the cleaner removed (e.g. the disclaimer line), true when in the body.';

comment on table schema_migrations is 'Migrations applied to this file (warehouse/migrations/NNN_name.sql), in order.';
comment on column schema_migrations.version is 'Migration number (NNN).';
comment on column schema_migrations.name is 'Migration file name.';
comment on column schema_migrations.applied_at is 'When it was applied to this file (UTC).';
