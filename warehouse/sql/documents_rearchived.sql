-- In a batch's transaction: documents whose raw-store file was recorded lost (`newsflow raw-store-lost`)
-- and that the batch received again refer to their new records, so reclean can read them again.
update documents set archive_file = b.archive_file, archive_offset = b.archive_offset,
    archive_length = b.archive_length, archive_digest = b.archive_digest
from b_documents b
where documents.document_id = b.document_id and b.archive_file is not null
    and documents.archive_file in (select name from archive_files where lost_at is not null)
