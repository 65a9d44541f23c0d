-- Boilerplate removed since $since per rule: segments and the articles they were removed from.
with params as (select cast($since as timestamptz) as since)
select r.rule, count(*) as segments, count(distinct r.article_id) as articles
from removed_segments r
join v_articles a using (article_id), params
where since is null or a.seen_at >= since
group by r.rule
order by segments desc, r.rule;
