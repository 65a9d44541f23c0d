-- Web archives this run read to their end without a fault (`?`: their file URIs): the rows of their
-- earlier faults (a copy cut short or damaged, since replaced by a whole one) leave quarantine. A fault's
-- row is `<archive>#offset=N` or `<archive>#record=N`; the archive's records load under their own URIs.
delete from quarantine
where exists (select 1 from (select unnest(?) as archive) a
              where starts_with(quarantine.source_uri, a.archive || '#offset=')
                 or starts_with(quarantine.source_uri, a.archive || '#record='))
