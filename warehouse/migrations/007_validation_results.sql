-- 007: validation results per run and expectation, so the report can show how each expectation fared
-- over time (the quarantine table only holds the rows that failed). Runs before this migration have none.
create table if not exists validation_results (
    run_id       varchar not null,
    expectation  varchar not null,
    passed       integer not null,
    failed       integer not null,
    primary key (run_id, expectation)
);

comment on table validation_results is 'Rows that passed and failed each Great Expectations expectation, per run (from migration 007 on).';
comment on column validation_results.run_id is 'The run (runs.run_id).';
comment on column validation_results.expectation is 'Expectation type and the column it checks, e.g. expect_column_value_lengths_to_be_between(body).';
comment on column validation_results.passed is 'Articles of the run that met the expectation.';
comment on column validation_results.failed is 'Articles of the run that failed it (quarantined with the reason).';
