-- 009: raw documents live in WARC files beside the warehouse (tasks/archive.py), not in it; the rows
-- refer to their records. Re-runnable. The move of existing raw bytes out of `documents.raw` is the
-- Python step tasks.archive.move_raw_to_archive, run after this file (tasks.load.migrate).
alter table documents add column if not exists archive_file varchar;
alter table documents add column if not exists archive_offset bigint;
alter table documents add column if not exists archive_length bigint;
alter table documents add column if not exists archive_digest varchar;
create table if not exists archive_files (
    name        varchar primary key,
    bytes       bigint not null,
    created_at  timestamptz not null
);
comment on table documents is 'Raw input exactly as received (one row per distinct content at a location); the bytes themselves are a WARC record in the archive folder beside the warehouse (archive_file, archive_offset, archive_length), kept so articles can be cleaned again without refetching.';
comment on column documents.raw is 'Raw bytes stored in the warehouse before migration 009 moved them to the archive; always null now.';
comment on column documents.raw_codec is 'How raw was stored before migration 009 (null or ''zstd''); always null now.';
comment on column documents.archive_file is 'The WARC file holding this document''s bytes, a name in the archive folder (default <warehouse name>.archive/ beside the warehouse file; setting archive_dir); null when there were no bytes to keep (unreadable input).';
comment on column documents.archive_offset is 'Byte offset of the document''s WARC record (one gzip member) in archive_file: seek there and read archive_length bytes (Python: tasks.archive.read_payload).';
comment on column documents.archive_length is 'Length in bytes of the document''s gzipped WARC record in archive_file.';
comment on column documents.archive_digest is 'WARC-Payload-Digest of the record (sha1, base32): what any WARC tool checks the bytes against.';
comment on table archive_files is 'The WARC files of the raw store and how many bytes of each committed loads refer to; a longer file is cut back to this length before the next append (what a killed run left).';
comment on column archive_files.name is 'File name in the archive folder: newsflow-<UTC time created>-<sequence>.warc.gz.';
comment on column archive_files.bytes is 'Bytes of the file that committed documents refer to.';
comment on column archive_files.created_at is 'When the file was started (UTC).';
