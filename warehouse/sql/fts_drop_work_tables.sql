-- The temp tables of one index_articles call (present or not: it may have failed half-way).
drop table if exists fts_stale;
drop table if exists fts_fresh;
drop table if exists fts_chunk;
drop table if exists fts_postings;
