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

comment on view v_entity_mentions is 'Every mention of an entity with its article: all spellings of one name share entity_id.';
comment on column v_entity_mentions.entity_id is 'The entity (entities.entity_id).';
comment on column v_entity_mentions.entity is 'Display name of the entity.';
comment on column v_entity_mentions.kind is 'person, org, place or other (rule-based guess).';
comment on column v_entity_mentions.merge_key is 'Normalized name the spelling variants share.';
comment on column v_entity_mentions.surface_form is 'The name as written in the article.';
comment on column v_entity_mentions.count is 'Occurrences of that surface form in the article.';
comment on column v_entity_mentions.article_id is 'The article (articles.article_id).';
comment on column v_entity_mentions.title is 'Article title.';
comment on column v_entity_mentions.outlet is 'Article outlet (see v_articles.outlet).';
comment on column v_entity_mentions.story_id is 'The article''s story.';
comment on column v_entity_mentions.seen_at is 'The article''s seen_at (see v_articles).';
