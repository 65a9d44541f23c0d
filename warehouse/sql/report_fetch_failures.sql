-- Fetch failures since $since: quarantined fetch documents per host and first reason (the report
-- groups the reasons into kinds and keeps the hosts with the most).
with params as (select cast($since as timestamptz) as since)
select coalesce(nullif(regexp_extract(source_uri, '^[a-z]+://(?:[^@/]*@)?([^/:?#]+)', 1), ''), source_uri) as host,
       reasons[1] as reason,
       count(*) as failures
from quarantine, params
where stage = 'fetch' and (since is null or quarantined_at >= since)
group by all
order by failures desc, host, reason;
