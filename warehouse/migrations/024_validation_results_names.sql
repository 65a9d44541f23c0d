-- 024: validation_results.expectation's example is a name runs record.
comment on column validation_results.expectation is 'Expectation type and the column it checks, e.g. expect_column_values_to_be_between(body_size) or expect_column_values_to_not_be_null(body).';
