-- The first and last start of the runs since $since (the report picks its time bucket from the span).
with params as (select cast($since as timestamptz) as since)
select min(started_at), max(started_at), count(*) from runs, params where since is null or started_at >= since;
