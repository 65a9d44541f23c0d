-- The local search mirror's articles (tasks/lake.py: lake_search_index; lake_search_mirror.sql fills it).
create table if not exists articles (
    article_id    varchar primary key,
    title         varchar,
    body          varchar not null,
    content_hash  varchar not null
);
