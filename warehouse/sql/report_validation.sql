-- Validation results per expectation over the runs started since $since: rows that passed and failed.
with params as (select cast($since as timestamptz) as since)
select v.expectation, sum(v.passed) as passed, sum(v.failed) as failed, count(distinct v.run_id) as runs
from validation_results v
join runs r using (run_id), params
where since is null or r.started_at >= since
group by v.expectation
order by failed desc, v.expectation;
