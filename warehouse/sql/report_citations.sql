-- Who cites whom since $since: each citing outlet and the outlet it attributes to, the $limit most
-- frequent pairs (in_body: how many of them are in the cleaned body rather than a removed line).
with params as (select cast($since as timestamptz) as since)
select a.outlet as citing, any_value(c.outlet) as cited, count(*) as citations,
       count(*) filter (where c.in_body) as in_body
from citations c
join v_articles a using (article_id), params
where since is null or a.seen_at >= since
group by a.outlet, c.outlet_key
order by citations desc, citing, cited
limit $limit;
