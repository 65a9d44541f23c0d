"""newsflow: news-article ingestion into DuckDB, orchestrated by Prefect."""

__version__ = "0.1.0"
