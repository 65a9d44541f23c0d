-- Fetch failures since $since: quarantined fetch documents per host and first reason (the report
-- groups the reasons into kinds and keeps the hosts with the most).
with params as (select cast($since as timestamptz) as since)
-- Hosts as v_articles.outlet names them: lower case, without userinfo, port or a leading www.
select coalesce(nullif(regexp_replace(lower(regexp_extract(source_uri,
                    '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^]/?#]*\]|[^:/?#]*)', 1)), '^www\.', ''), ''),
                source_uri) as host,
       reasons[1] as reason,
       count(*) as failures
from quarantine, params
where stage = 'fetch' and (since is null or quarantined_at >= since)
group by all
order by failures desc, host, reason;
