-- 017: runs.status gained the value 'cancelled' (an operator stopped the run: Ctrl-C, or Cancel in Prefect).
comment on column runs.status is 'running, completed, failed, cancelled (an operator stopped it: Ctrl-C, or its Prefect flow run cancelled; the batches it committed stay), or interrupted (the process died; the next run marks it).';
