-- The articles of the stories in $stories seen since $since, newest first, at most $per_story each.
with params as (select cast($since as timestamptz) as since),
chosen as (
    select story_id, title, url, source_uri, outlet, seen_at,
           row_number() over (partition by story_id order by seen_at desc, article_id) as rank
    from v_articles, params
    where list_contains($stories, story_id) and (since is null or seen_at >= since)
)
select story_id, title, url, source_uri, outlet, seen_at
from chosen
where rank <= $per_story
order by story_id, seen_at desc;
