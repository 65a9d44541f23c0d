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

comment on view v_story_coverage is 'One row per story: article count, the outlets that covered it, first and last seen.';
comment on column v_story_coverage.story_id is 'The story (stories.story_id).';
comment on column v_story_coverage.story_title is 'Label of the story: the title of its first article.';
comment on column v_story_coverage.articles is 'Articles in the story.';
comment on column v_story_coverage.outlet_count is 'Distinct outlets that covered it.';
comment on column v_story_coverage.outlets is 'The outlets, alphabetically.';
comment on column v_story_coverage.first_seen is 'Earliest seen_at of its articles (UTC).';
comment on column v_story_coverage.last_seen is 'Latest seen_at of its articles (UTC).';
