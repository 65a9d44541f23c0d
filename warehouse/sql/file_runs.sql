-- The runs in a DuckDB warehouse, newest first (`newsflow runs`): how each ended, how long it took and
-- what it changed. A run still `running` here was killed; the next run marks it `interrupted`.
select run_id, status, started_at, round(epoch(finished_at - started_at), 1) as seconds,
       documents_seen, articles_new, articles_updated, articles_unchanged, quarantined
from runs
order by started_at desc
limit ?
