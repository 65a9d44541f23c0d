-- 016: a random id for the warehouse. Its raw store's files are named with it, so warehouses that
-- share one archive folder (NEWSFLOW_ARCHIVE_DIR) never append to, cut back or delete each other's.
create table if not exists warehouse_identity (id varchar not null);
comment on table warehouse_identity is 'One row: this warehouse''s random id, part of the names of its raw store''s files (newsflow-<id>-<time>-<sequence>.warc.gz) so that warehouses sharing an archive folder keep apart.';
comment on column warehouse_identity.id is '12 hex digits, drawn when the warehouse was created or upgraded; copies of the warehouse (the analyst copy) share it.';
comment on column archive_files.name is 'File name in the archive folder: newsflow-<warehouse id>-<UTC time created>-<sequence>.warc.gz (files started before migration 016 have no id; on a lake, the writer''s host and slot stand in its place).';
insert into warehouse_identity
select left(replace(gen_random_uuid()::varchar, '-', ''), 12)
where not exists (select * from warehouse_identity);
