-- 006: the size and modification time of the file a .txt/.html document was read from, so a rerun
-- skips files it has already stored without reading and hashing them again.
alter table documents add column source_mtime_ns bigint;
comment on column documents.source_mtime_ns is 'Modification time (ns since the epoch) of the .txt/.html file this document was read from; a rerun skips a file whose size and time match a stored document (null: not from such a file).';
