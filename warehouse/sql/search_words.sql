-- The words of a query the index can hold: its tokenize macro (lower case, split at spaces, digits and
-- punctuation) without its stop words, as match_bm25 reads the query.
select w
from (select unnest(fts_main_articles.tokenize(?)) as w)
where len(w) > 0 and w not in (select sw from fts_main_articles.stopwords);
