-- The raw store's file a writer appends to (its names start with ?), and how many of its bytes
-- committed batches refer to.
select name, bytes from archive_files where starts_with(name, ?) order by created_at desc, name desc limit 1
