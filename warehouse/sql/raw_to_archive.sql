-- Migration 009: the next documents whose raw bytes are still in the warehouse (moved out in batches).
select document_id, source_uri, media_type, raw, raw_codec, raw_sha256, size_bytes, fields, received_at
from documents
where raw is not null and archive_file is null
order by received_at, document_id
limit ?
