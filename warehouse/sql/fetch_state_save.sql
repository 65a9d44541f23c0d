-- One fetch_state row per request (the last outcome wins).
insert or replace into fetch_state (url, source, final_url, etag, last_modified, content_sha256, last_status,
                                    last_error, fetched_at, failure, failures, next_attempt_at, skipped_under)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
