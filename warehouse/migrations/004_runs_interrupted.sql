-- 004: runs.status gained the value 'interrupted' (a run found still 'running' by the next run was killed).
comment on column runs.status is 'running, completed, failed, or interrupted (the process died; the next run marks it).';
