-- archive_current_file as migration 009's step runs it: before migration 019 adds archive_files.lost_at
-- (no file is lost then).
select name, bytes from archive_files where starts_with(name, ?) order by created_at desc, name desc limit 1
