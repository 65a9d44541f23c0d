-- The raw store's file a writer appends to (its names start with ?), and how many of its bytes
-- committed batches refer to. A file recorded as lost is never appended to.
select name, bytes from archive_files where starts_with(name, ?) and lost_at is null
order by created_at desc, name desc limit 1
