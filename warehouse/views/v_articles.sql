-- The latest version of each article with its outlet and story: the analyst's starting point.
create or replace view v_articles as
with source_articles as (
    select * from articles
),
article_stories as (
    select sa.article_id, sa.story_id, s.title as story_title, sa.similarity as story_similarity
    from story_articles sa join stories s using (story_id)
),
final as (
    select
        a.article_id,
        a.title,
        coalesce(a.sitename, regexp_extract(a.url, '^[a-z]+://(?:www\.)?([^/:]+)', 1),
                 regexp_extract(a.source_uri, '([^/]+)$', 1)) as outlet,
        a.url,
        a.source_uri,
        a.published_at,
        coalesce(a.published_at, a.ingested_at) as seen_at,
        a.author,
        a.language,
        a.section,
        a.word_count,
        s.story_id,
        s.story_title,
        s.story_similarity,
        a.body,
        a.cleaner_version,
        a.ingested_at,
        a.updated_at
    from source_articles a
    left join article_stories s using (article_id)
)
select * from final;
