-- Every mention of an entity, with the article it is in: group by entity_id for all spellings at once.
create or replace view v_entity_mentions as
with article_mentions as (
    select * from mentions
),
final as (
    select
        e.entity_id,
        e.name as entity,
        e.kind,
        e.merge_key,
        m.surface_form,
        m.count,
        a.article_id,
        a.title,
        a.outlet,
        a.story_id,
        a.seen_at
    from article_mentions m
    join entities e using (entity_id)
    join v_articles a using (article_id)
)
select * from final;
