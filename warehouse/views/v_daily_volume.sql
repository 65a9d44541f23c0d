-- Articles, words and stories per day and outlet (day of publication, else of ingestion, UTC).
create or replace view v_daily_volume as
with dated as (
    select * from v_articles
),
final as (
    select
        cast(timezone('UTC', seen_at) as date) as day,
        outlet,
        count(*) as articles,
        sum(word_count) as words,
        count(distinct story_id) as stories
    from dated
    group by all
)
select * from final;

comment on view v_daily_volume is 'Articles, words and stories per UTC day and outlet (day of publication, else of first load).';
comment on column v_daily_volume.day is 'UTC day of v_articles.seen_at.';
comment on column v_daily_volume.outlet is 'The outlet (see v_articles.outlet).';
comment on column v_daily_volume.articles is 'Articles that day from that outlet.';
comment on column v_daily_volume.words is 'Sum of their word counts.';
comment on column v_daily_volume.stories is 'Distinct stories they belong to.';
