-- 022: a run records whether it changed what its counts do not show, so that the next run publishes
-- it when this one could not (tasks/publish.py: needs_publish).
alter table runs add column if not exists quiet_change boolean;  -- null on runs recorded before it (no change)
comment on column runs.quiet_change is 'Whether the run changed what its counts do not show: rows taken out of quarantine (a page back after a 404, a web archive or JSON Lines file read whole again), a fetch failing anew, the search index built. Such a run publishes the analyst copy.';
