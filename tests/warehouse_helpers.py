"""Shared helpers for the warehouse tests: a real DuckDB file loaded with the bundled samples."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from newsflow.settings import SAMPLES_DIR, archive_dir_for
from tasks import load as L
from tasks.archive import ArchiveConfig
from tasks.clean import CLEANER_VERSION, clean_batch
from tasks.models import Article, RawDocument, Rejected, sha256_hex
from tasks.sources import discover, read_all
from tasks.validate import validate_articles

WCXB = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "wcxb-dev-articles"


def sample_docs() -> list[RawDocument]:
    return list(read_all(discover([SAMPLES_DIR])))


def sample_articles() -> list[Article]:
    return [r for r in clean_batch(sample_docs()) if isinstance(r, Article)]


def load_docs(con, docs: list[RawDocument], run_id: str = "test-run", archive=None) -> L.BatchCounts:
    """Clean, validate (real GX) and load one batch, the way the flow does (`archive`: the raw store's
    ArchiveConfig, which a lake needs)."""
    results = clean_batch(docs)
    articles = [r for r in results if isinstance(r, Article)]
    rejected = [r for r in results if isinstance(r, Rejected)]
    validation = validate_articles(articles)
    L.start_run(con, run_id, None, "test", CLEANER_VERSION)
    return L.load_batch(con, run_id, CLEANER_VERSION, docs, validation.valid, rejected + validation.rejected,
                        archive=archive)


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


def quarantine_left_after_fixes(con, archive: Path) -> set[str]:
    """Five sources quarantined in one batch, then articles loaded from four places in the next: a file
    fixed, a page fetched again, a record of a file that could not be read, another line of a JSON-lines
    file whose line 2 was rejected. The source URIs left in quarantine; raw pages go to `archive`."""
    def version(uri: str, text: str) -> RawDocument:
        return RawDocument(uri, "text", text.encode(), sha256_hex(text.encode()), len(text))

    broken = [version(uri, "bad") for uri in ("file:///d/short.txt", "https://news.example/a", "file:///d/feed.json",
                                               "file:///d/lines.jsonl#L2", "file:///d/other.txt")]
    L.load_batch(con, "r1", "v", broken, [], [Rejected(d.document_id, d.source_uri, "read", ["bad"]) for d in broken],
                 archive=ArchiveConfig(archive))
    fixed = [version("file:///d/short.txt", "now long enough"), version("https://news.example/a", "fetched"),
             version("file:///d/feed.json#0", "first record"), version("file:///d/lines.jsonl#L1", "line one")]
    L.load_batch(con, "r2", "v", fixed, [Article(article_id=f"a-{d.source_uri}", document_id=d.document_id,
                                                 source_uri=d.source_uri, url=None, title="T", body="Body text.")
                                         for d in fixed], [], archive=ArchiveConfig(archive))
    return {uri for (uri,) in con.execute("select source_uri from quarantine").fetchall()}
