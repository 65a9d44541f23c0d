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
