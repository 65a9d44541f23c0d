-- How many of the URLs that failed now (?: their URLs, reasons, failures in a row) failed anew or
-- otherwise than fetch_state records: no row yet, no failure before, another reason, another count.
-- Read before fetch_state_save.sql writes them.
select count(*)
from (select unnest(?) as url, unnest(?) as error, unnest(?) as failures) r
left join fetch_state f using (url)
where f.url is null or f.last_error is distinct from r.error or coalesce(f.failures, 0) <> r.failures
