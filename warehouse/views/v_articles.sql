-- The latest version of each article with its outlet and story: the analyst's starting point.
create or replace view v_articles as
with source_articles as (
    select * from articles
),
-- The URL's host, lower case, without userinfo, port or a leading www. (warehouse/sql/report_fetch_failures.sql
-- names hosts by the same rule), and the source's file name without a record's fragment (decoded in final).
placed_articles as (
    select *,
           regexp_replace(lower(regexp_extract(url, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^]/?#]*\]|[^:/?#]*)', 1)),
                          '^www\.', '') as url_host,
           regexp_extract(source_uri, '([^/?#]+)(?:[?#].*)?$', 1) as file_name
    from source_articles
),
-- A story's label is its first article's title as the article reads now (rewritten upstream, it follows);
-- the title stored when the story began where that article is gone.
article_stories as (
    select sa.article_id, sa.story_id, coalesce(fa.title, s.title) as story_title, sa.similarity as story_similarity
    from story_articles sa
    join stories s using (story_id)
    left join articles fa on fa.article_id = s.first_article_id
),
final as (
    select
        a.article_id,
        a.title,
        coalesce(a.sitename, nullif(a.url_host, ''), try(url_decode(a.file_name)), a.file_name) as outlet,
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
        a.extraction,
        a.extraction_confidence,
        a.ingested_at,
        a.updated_at,
        case when f.last_status in (404, 410) then f.fetched_at end as gone_at
    from placed_articles a
    left join article_stories s using (article_id)
    left join fetch_state f on f.url = a.source_uri
)
select * from final;

comment on view v_articles is 'The latest version of each article with its outlet and story: start here.';
comment on column v_articles.article_id is 'Stable article id (articles.article_id).';
comment on column v_articles.title is 'Article title; null when the input had none.';
comment on column v_articles.outlet is 'Who published it: the page''s site name, else the URL host (lower case, without port or a leading www.), else the source file name (without a record''s #L<n> or #<i>).';
comment on column v_articles.url is 'Article URL when known.';
comment on column v_articles.source_uri is 'Where the article came from (file:// URI or URL).';
comment on column v_articles.published_at is 'Publication time (UTC) when known; 00:00 UTC of the day when the source states a day but no time; a time stated without a zone is read as UTC.';
comment on column v_articles.seen_at is 'published_at, else when newsflow first loaded it: the time to sort and bucket by.';
comment on column v_articles.author is 'Author or byline when known.';
comment on column v_articles.language is 'ISO 639-1 language of the body.';
comment on column v_articles.section is 'Section or category label.';
comment on column v_articles.word_count is 'Words in the cleaned body.';
comment on column v_articles.story_id is 'The story (same event, any outlet) this article belongs to (stories.story_id).';
comment on column v_articles.story_title is 'Label of the story: the title of its first article.';
comment on column v_articles.story_similarity is 'Estimated entity-set Jaccard similarity to the article that brought it into the story; null for the first.';
comment on column v_articles.body is 'Cleaned article text.';
comment on column v_articles.cleaner_version is 'Version of the cleaning rules that produced this text.';
comment on column v_articles.extraction is 'Which extraction produced the body (articles.extraction).';
comment on column v_articles.extraction_confidence is 'How sure the cleaner is that the body is the main text, 0 to 1 (articles.extraction_confidence).';
comment on column v_articles.ingested_at is 'When the article was first loaded (UTC).';
comment on column v_articles.updated_at is 'When it last changed (UTC): its title, body, date, author, outlet, section, URLs or flags.';
comment on column v_articles.gone_at is 'When the page it was fetched from last answered 404 or 410 (withdrawn or moved upstream; the article keeps its last text); null while the page answers, and for files, records and feed items, which are not fetched again.';
