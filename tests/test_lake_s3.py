"""A lake whose Parquet files live in an S3-compatible bucket: a real S3 server (moto's, on 127.0.0.1),
a real PostgreSQL catalog, `newsflow ingest` as a subprocess with the standard AWS variables."""

from __future__ import annotations

import re

import httpx
import pytest

from ingest_harness import run_ingest
from tasks.lake import open_lake
from tasks.lake_sql import s3_secret_sql

BUCKET = "newsbucket"


def test_s3_secret_comes_from_the_aws_variables():
    assert s3_secret_sql({"AWS_ACCESS_KEY_ID": "k"}) is None  # no secret key: nothing to create
    sql = s3_secret_sql({"AWS_ACCESS_KEY_ID": "k'1", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1",
                         "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})
    assert "key_id 'k''1'" in sql and "region 'eu-west-1'" in sql
    assert "endpoint '127.0.0.1:9000'" in sql and "use_ssl false" in sql and "url_style 'path'" in sql


@pytest.fixture
def s3(monkeypatch):
    """An S3 server on 127.0.0.1 with one bucket; the AWS variables pointing at it (also in this process)."""
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    httpx.put(f"{endpoint}/{BUCKET}").raise_for_status()
    env = {"AWS_ACCESS_KEY_ID": "newsflow", "AWS_SECRET_ACCESS_KEY": "newsflow-secret",
           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield endpoint, env
    server.stop()


def test_ingest_writes_the_lake_data_to_s3_and_analysts_read_it(prefect_server, lake, s3, tmp_path, samples_dir):
    endpoint, aws = s3
    env = {**lake, "NEWSFLOW_LAKE_DATA_PATH": f"s3://{BUCKET}/lake/", **aws}
    run_ingest(prefect_server, samples_dir, tmp_path / "wh" / "news.duckdb", **env)

    listing = httpx.get(f"{endpoint}/{BUCKET}", params={"list-type": "2", "prefix": "lake/"}).text
    keys = re.findall(r"<Key>([^<]+)</Key>", listing)
    assert any(k.endswith(".parquet") for k in keys), listing[:2000]
    con = open_lake(lake["NEWSFLOW_WAREHOUSE"], read_only=True)
    try:
        assert con.execute("select count(*) from articles").fetchone()[0] == len(list(samples_dir.iterdir()))
    finally:
        con.close()
