-- Articles that best match "artillery shells" (BM25 over title and body). Needs the fts extension in the
-- session: `newsflow search "artillery shells"` and `newsflow sql` have it loaded; elsewhere run `load fts` first.
-- A DuckDB-file warehouse only: fts cannot index a lake's tables, so on a lake use `newsflow search`.
select round(fts_main_articles.match_bm25(article_id, 'artillery shells'), 3) as score, title, outlet, seen_at
from v_articles
where score is not null
order by score desc
limit 10;
