-- Which articles cite Reuters, and the sentence that does (including the removed disclaimer line).
select a.title, a.outlet, c.pattern, c.in_body, c.sentence
from citations c
join v_articles a using (article_id)
where c.outlet_key = 'reuters'
order by a.seen_at;
