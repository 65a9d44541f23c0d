-- The statistics BM25 reads, after documents entered or left the index.
update fts_main_articles.stats set num_docs = (select count(*) from fts_main_articles.docs),
                                   avgdl = (select sum(len) / count(len) from fts_main_articles.docs);
