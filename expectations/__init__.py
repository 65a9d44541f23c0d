"""Great Expectations suites deciding which cleaned articles are valid."""
