-- BM25 full-text search over title and body (index: fts_main_articles, kept current by each load).
with scored as (
    select article_id, fts_main_articles.match_bm25(article_id, ?) as score
    from articles
)
select s.score, a.article_id, a.title, a.outlet, a.seen_at, a.story_id, a.body
from scored s
join v_articles a using (article_id)
where s.score is not null
order by s.score desc
limit ?
