-- The report's headline figures since $since (null: everything): articles, outlets, stories, entities,
-- runs and quarantined documents, and the span of the articles' seen_at.
with params as (select cast($since as timestamptz) as since),
recent as (
    select article_id, outlet, story_id, seen_at from v_articles, params where since is null or seen_at >= since
)
select
    (select count(*) from recent) as articles,
    (select count(distinct outlet) from recent) as outlets,
    (select count(distinct story_id) from recent) as stories,
    (select count(distinct m.entity_id) from mentions m join recent r using (article_id)) as entities,
    (select count(*) from runs, params where since is null or started_at >= since) as runs,
    (select count(*) from quarantine, params where since is null or quarantined_at >= since) as quarantined,
    (select min(seen_at) from recent) as first_seen,
    (select max(seen_at) from recent) as last_seen,
    (select max(finished_at) from runs) as last_run;
