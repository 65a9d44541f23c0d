-- 005: raw documents are stored zstd-compressed (about 5x smaller for HTML), so the warehouse and every
-- published copy shrink; rows loaded before this migration keep their bytes as received (codec null).
alter table documents add column raw_codec varchar;
comment on column documents.raw is 'The raw bytes as received, compressed as raw_codec says; null when not stored (file over the size limit, unreadable).';
comment on column documents.raw_codec is 'How raw is stored: null = as received, ''zstd'' = zstd-compressed (Python: zstandard.ZstdDecompressor().decompress(raw)).';
