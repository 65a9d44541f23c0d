-- The lake's runs, newest first, with the snapshots their commits made (tasks/lake.py: lake_runs):
-- query the warehouse as it was after a run with `from articles at (version => last_snapshot)`.
with tagged as (
    select snapshot_id, snapshot_time, json_extract_string(commit_extra_info, '$.run_id') as run_id
    from lake.snapshots()
    where commit_extra_info is not null
)
select r.run_id, r.status, r.started_at, round(epoch(r.finished_at - r.started_at), 1) as seconds,
       r.documents_seen, r.articles_new, r.articles_updated, r.articles_unchanged, r.quarantined,
       min(t.snapshot_id) as first_snapshot, max(t.snapshot_id) as last_snapshot, count(t.snapshot_id) as commits
from runs r left join tagged t using (run_id)
group by all
order by r.started_at desc
limit ?
