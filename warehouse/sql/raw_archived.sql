-- Migration 009: documents whose raw bytes are now archived (b_moved) refer to their records instead.
update documents set archive_file = m.archive_file, archive_offset = m.archive_offset,
    archive_length = m.archive_length, archive_digest = m.archive_digest, raw = null, raw_codec = null
from b_moved m
where documents.document_id = m.document_id
