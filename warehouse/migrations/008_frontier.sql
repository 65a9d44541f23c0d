-- 008: the frontier: which failed items a later run tries again, when, and why. Re-runnable.

alter table fetch_state add column if not exists failure varchar;
alter table fetch_state add column if not exists failures integer default 0;
alter table fetch_state add column if not exists next_attempt_at timestamptz;

comment on column fetch_state.failure is 'How the last fetch failed: transient (timeout, 429, 5xx: tried again at next_attempt_at) or permanent (never tried again); null when it succeeded.';
comment on column fetch_state.failures is 'Transient failures in a row; the item is given up (permanent) after 8.';
comment on column fetch_state.next_attempt_at is 'When a later run fetches this item again after a transient failure (backoff doubling per failure, from NEWSFLOW_FETCH_RETRY_BACKOFF, up to a day), even if its feed has not changed; null: no retry planned.';
