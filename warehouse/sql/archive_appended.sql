-- In a batch's transaction: the archive file's committed length after the batch's records.
insert into archive_files (name, bytes, created_at) values (?, ?, ?)
on conflict (name) do update set bytes = excluded.bytes
