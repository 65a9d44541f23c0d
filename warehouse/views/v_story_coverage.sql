-- One row per story: how many articles, which outlets, first and last seen.
create or replace view v_story_coverage as
with in_stories as (
    select * from v_articles where story_id is not null
),
final as (
    select
        story_id,
        any_value(story_title) as story_title,
        count(*) as articles,
        count(distinct outlet) as outlet_count,
        list(distinct outlet order by outlet) as outlets,
        min(seen_at) as first_seen,
        max(seen_at) as last_seen
    from in_stories
    group by story_id
)
select * from final;
