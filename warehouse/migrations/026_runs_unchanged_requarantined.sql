-- 026: a document rejected again while in quarantine counts as unchanged (reclean's, a fetch failing as before).
comment on column runs.articles_unchanged is 'Documents already in the warehouse (skipped), articles that came out as stored, and documents rejected again that were in quarantine already.';
