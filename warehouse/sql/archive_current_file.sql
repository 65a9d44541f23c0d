-- The raw store's file being appended to, and how many of its bytes committed batches refer to.
select name, bytes from archive_files order by created_at desc, name desc limit 1
