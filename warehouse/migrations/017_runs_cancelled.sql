-- 017: runs.status gained the value 'cancelled' (an operator cancelled the run's flow run in Prefect).
comment on column runs.status is 'running, completed, failed, cancelled (an operator cancelled its Prefect flow run; the batches it committed stay), or interrupted (the process died; the next run marks it).';
