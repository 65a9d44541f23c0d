-- After create_fts_index: record each indexed article's content hash in the index's docs table, which is
-- how index_articles (tasks/search.py) tells later which articles changed since they were indexed.
alter table fts_main_articles.docs add column content_hash varchar;
update fts_main_articles.docs d set content_hash = a.content_hash from articles a where a.article_id = d.name;
