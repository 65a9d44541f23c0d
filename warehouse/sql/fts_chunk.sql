-- The next run of fts_fresh to enter the index: the articles with docids from $first, at most $size
-- of them (fts_fresh numbers its articles with consecutive docids).
create or replace temp table fts_chunk as
select * from fts_fresh where docid >= $first and docid < $first + $size;
