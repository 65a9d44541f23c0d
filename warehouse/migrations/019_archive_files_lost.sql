-- 019: a raw-store file lost for good (no backup) is recorded as such (`newsflow raw-store-lost`), so
-- that runs start a new file instead of failing on the missing one.
alter table archive_files add column if not exists lost_at timestamptz;

comment on column archive_files.lost_at is 'When an operator recorded the file as lost for good (`newsflow raw-store-lost`): runs no longer append to it, and reclean skips the documents whose records it held; null for a file in place.';
