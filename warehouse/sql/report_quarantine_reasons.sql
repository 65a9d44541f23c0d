-- Documents quarantined since $since per stage and reason (each reason of a document once); the
-- report groups the reasons into kinds (tasks.report.reason_kind).
with params as (select cast($since as timestamptz) as since),
reasons as (
    select distinct stage, document_id, unnest(reasons) as reason
    from quarantine, params
    where since is null or quarantined_at >= since
)
select stage, reason, count(*) as documents
from reasons
group by all
order by documents desc, stage, reason;
