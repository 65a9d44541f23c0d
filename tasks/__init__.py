"""The work of the pipeline: plain functions, each stage with a thin Prefect @task wrapper."""
