"""Shared helpers for the warehouse tests: a real DuckDB file loaded with the bundled samples."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from newsflow.settings import SAMPLES_DIR, archive_dir_for
from tasks import load as L
from tasks.clean import CLEANER_VERSION, clean_batch
from tasks.models import Article, RawDocument, Rejected
from tasks.sources import discover, read_all
from tasks.validate import validate_articles

WCXB = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "wcxb-dev-articles"


def sample_docs() -> list[RawDocument]:
    return list(read_all(discover([SAMPLES_DIR])))


def sample_articles() -> list[Article]:
    return [r for r in clean_batch(sample_docs()) if isinstance(r, Article)]


def load_docs(con, docs: list[RawDocument], run_id: str = "test-run") -> L.BatchCounts:
    """Clean, validate (real GX) and load one batch, the way the flow does."""
    results = clean_batch(docs)
    articles = [r for r in results if isinstance(r, Article)]
    rejected = [r for r in results if isinstance(r, Rejected)]
    validation = validate_articles(articles)
    L.start_run(con, run_id, None, "test", CLEANER_VERSION)
    return L.load_batch(con, run_id, CLEANER_VERSION, docs, validation.valid, rejected + validation.rejected)


@lru_cache(maxsize=1)
def _template(folder: str) -> Path:
    path = Path(folder) / "samples.duckdb"
    con = L.connect(path)
    load_docs(con, sample_docs())
    from tasks.search import build_index

    build_index(con)
    con.execute("checkpoint")
    con.close()
    return path


def samples_warehouse(tmp_path: Path, template_dir: Path) -> Path:
    """A fresh copy of a warehouse holding the five samples, with its archive (built once per session)."""
    dst = tmp_path / "news.duckdb"
    template = _template(str(template_dir))
    shutil.copyfile(template, dst)
    shutil.copytree(archive_dir_for(template), archive_dir_for(dst), dirs_exist_ok=True)
    return dst
