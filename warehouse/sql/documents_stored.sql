-- Which of these document ids the warehouse already stores (their bytes are archived already, in a file
-- not recorded lost: a document received again after its file was lost is archived again).
select document_id from documents where document_id in (select unnest(?))
    and (archive_file is null or archive_file not in (select name from archive_files where lost_at is not null))
