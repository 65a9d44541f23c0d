-- 015: a document quarantined only for a date still in the future is cleaned again by the first ingest
-- run after that date has come (tasks/reclean.py due_documents), instead of staying quarantined.
alter table quarantine add column retry_at timestamptz;
comment on column quarantine.retry_at is 'When the document would pass: set where its only fault is a published_at still in the future (beyond the hour allowed for clock skew), and the first ingest run after this instant cleans it again from the raw store; null otherwise.';
-- Rows quarantined for a future date before this migration get their retry_at from their reason.
update quarantine
set retry_at = try_cast(regexp_extract(reasons[1], 'published_at (\S+) is in the future', 1) as timestamptz)
               - interval 1 hour
               - case when regexp_extract(reasons[1], 'published_at (\S+) is in the future', 1) like '%T00:00:00+00:00'
                      then interval 14 hour else interval 0 hour end
where stage = 'validate' and len(reasons) = 1 and reasons[1] like '%(published_age_s): published_at % is in the future%';
