"""Score the cleaner against a folder of pages with ground truth (the WCXB layout).

Layout: `html/<id>.html(.gz)` and `ground-truth/<id>.json` with `url` and, under `ground_truth`,
`main_content`, `with`, `without`, `title`, `author`, `publish_date`.

Per page, the extracted body and `main_content` become bags of lower-cased `\\w+` tokens; their overlap
(with multiplicity) gives precision, recall and F1, then the mean over pages. Alongside: the share of
`without` snippets (boilerplate) still in the output, the number of pages with a boilerplate-looking
line that the ground truth does not contain, docs/s per core, and, for newsflow, metadata accuracy.
Every system runs on the same page in the same worker, so one run compares them side by side; docs/s
is pages per second of one core's extraction time, after a warm-up that loads one-time state.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.reader import one_line

_TOKEN = re.compile(r"\w+", re.UNICODE)

# Independent of the rule table on purpose: the eval must not grade the cleaner with its own rules.
# Short lines that read like page furniture, as listed in issue 3.
_BOILERPLATE_LINE = re.compile(
    r"^\W{0,3}(?:read\s+more|also\s+read|related(?:\s+\w+)?|sign\s+up|subscribe|click\s+here|"
    r"leave\s+a\s+(?:reply|comment)|\d*\s*comments?|share\s+(?:this|on)|advertisement|follow\s+us|"
    r"you\s+may\s+also\s+like|recommended|more\s+from|get\s+the\s+\w+\s+app|download\s+the\s+\w+\s*app|"
    r"we\s+use\s+cookies|newsletter)\b",
    re.IGNORECASE,
)
_BOILERPLATE_MAX_CHARS = 160


# ------------------------------------------------------------------------------------- scoring
def tokens(text: str) -> Counter[str]:
    """Lower-cased `\\w+` tokens as a bag."""
    return Counter(_TOKEN.findall(text.lower()))


def token_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of two texts as bags of tokens (overlap counted with multiplicity)."""
    p, g = tokens(predicted), tokens(gold)
    n_p, n_g = sum(p.values()), sum(g.values())
    if n_p == 0 and n_g == 0:
        return 1.0, 1.0, 1.0
    overlap = sum((p & g).values())
    precision = overlap / n_p if n_p else 0.0
    recall = overlap / n_g if n_g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _norm(text: str) -> str:
    return " " + " ".join(_TOKEN.findall(text.lower())) + " "


def snippet_left(snippet: str, output_norm: str) -> bool:
    """Whether a snippet's token sequence appears in the (normalized) output, on word boundaries."""
    s = _norm(snippet)
    return s.strip() != "" and s in output_norm


def boilerplate_lines(output: str, gold_norm: str) -> list[str]:
    """Output lines that look like page furniture and are not part of the ground truth."""
    found = []
    for line in output.splitlines():
        line = line.strip()
        if line and len(line) <= _BOILERPLATE_MAX_CHARS and _BOILERPLATE_LINE.match(line):
            if _norm(line) not in gold_norm:
                found.append(line)
    return found


# ----------------------------------------------------------------------------------- systems
def _run_newsflow(html: bytes, url: str | None) -> dict[str, Any]:
    from tasks.clean import clean_document
    from tasks.models import Article, RawDocument, sha256_hex

    doc = RawDocument("eval:" + (url or ""), "html", html, sha256_hex(html), len(html),
                      fields={"url": url} if url else {})
    result = clean_document(doc)
    if not isinstance(result, Article):
        return {"text": ""}
    return {"text": result.body, "title": result.title, "author": result.author,
            "published_at": result.published_at}


def _run_trafilatura(html: bytes, url: str | None) -> dict[str, Any]:
    import trafilatura

    return {"text": trafilatura.extract(html, url=url) or ""}


def _run_trafilatura_best(html: bytes, url: str | None) -> dict[str, Any]:
    import trafilatura

    from tasks.clean import TRAFILATURA_OPTIONS

    return {"text": trafilatura.extract(html, url=url, **TRAFILATURA_OPTIONS) or ""}


SYSTEMS: dict[str, Callable[[bytes, str | None], dict[str, Any]]] = {
    "newsflow": _run_newsflow,
    "trafilatura (default)": _run_trafilatura,
    "trafilatura (newsflow options)": _run_trafilatura_best,
}
DEFAULT_SYSTEMS = ("newsflow", "trafilatura (default)", "trafilatura (newsflow options)")


# ------------------------------------------------------------------------------------ results
@dataclass(slots=True)
class PageScore:
    page_id: str
    system: str
    precision: float
    recall: float
    f1: float
    without_total: int
    without_left: int
    boilerplate: list[str]
    seconds: float
    title_ok: bool | None = None
    author_ok: bool | None = None
    date_ok: bool | None = None
    error: str | None = None
    html_hash: str | None = None  # page_hash of the page's HTML


@dataclass(slots=True)
class SystemSummary:
    system: str
    pages: int
    precision: float
    recall: float
    f1: float
    without_leak_share: float
    boilerplate_pages: int
    docs_per_second: float
    title_accuracy: float | None = None
    author_accuracy: float | None = None
    date_accuracy: float | None = None
    errors: int = 0


@dataclass(slots=True)
class Report:
    dataset: str
    summaries: list[SystemSummary]
    pages: list[PageScore] = field(default_factory=list)

    def summary(self, system: str) -> SystemSummary:
        """The summary row of one system, by name."""
        return next(s for s in self.summaries if s.system == system)


# ------------------------------------------------------------------------------------ dataset
@dataclass(frozen=True, slots=True)
class Page:
    page_id: str
    html_path: Path
    truth_path: Path


class DatasetError(ValueError):
    """A DATASET folder that is not in the expected layout; the message says what is wrong."""


def find_pages(dataset: str | Path, limit: int | None = None) -> list[Page]:
    """Pages with both HTML and ground truth, sorted by id."""
    root = Path(dataset).expanduser()
    html_dir, truth_dir = root / "html", root / "ground-truth"
    if not html_dir.is_dir() or not truth_dir.is_dir():
        raise DatasetError(f"{root}: expected folders html/ and ground-truth/ (the WCXB layout)")
    pages = []
    for truth in sorted(truth_dir.glob("*.json")):
        pid = truth.stem
        for name in (f"{pid}.html.gz", f"{pid}.html", f"{pid}.htm"):
            if (html_dir / name).is_file():
                pages.append(Page(pid, html_dir / name, truth))
                break
    if not pages:
        raise DatasetError(f"{root}: no page has both html/<id>.html[.gz] and ground-truth/<id>.json")
    return pages[:limit] if limit else pages


def read_page(page: Page) -> tuple[bytes, dict[str, Any]]:
    """The page's HTML bytes and its ground-truth record.

    Raises:
        DatasetError: a file that cannot be read, or a record that is not a JSON object whose
            `ground_truth` is one; the message names the file.
    """
    path = page.html_path
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        path = page.truth_path
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, EOFError, zlib.error, ValueError) as exc:  # ValueError: JSON, UTF-8
        raise DatasetError(f"{path}: {one_line(str(exc)) or type(exc).__name__}; fix or remove the page") from None
    if not isinstance(record, dict) or not isinstance(record.get("ground_truth", {}), dict):
        raise DatasetError(f"{path}: not a ground-truth record (a JSON object with an object "
                           '"ground_truth"); fix or remove the page')
    return raw, record


def _same_text(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and _norm(a) == _norm(b)


def _same_author(found: str | None, gold: str) -> bool:
    if not found:
        return False
    f, g = _norm(found), _norm(gold)
    return f == g or g in f or f in g


def score_page(page: Page, systems: Iterable[str]) -> list[PageScore]:
    """Run every system on one page and score it."""
    html, record = read_page(page)
    gt = record.get("ground_truth", {})
    gold = gt.get("main_content") or ""
    if not gold.strip():
        return []  # nothing to score against (a few WCXB records have no main_content)
    gold_norm = _norm(gold)
    without = [w for w in gt.get("without") or [] if _norm(w).strip()]
    url = record.get("url")
    digest = page_hash(html)
    scores = []
    systems = list(systems)
    # Whichever system touches a page first runs slower (cold caches), so the order rotates per page.
    turn = sum(map(ord, page.page_id)) % len(systems)
    for name in systems[turn:] + systems[:turn]:
        start = time.perf_counter()
        error = None
        try:
            out = SYSTEMS[name](html, url)
        except Exception as exc:  # a crash is a result to report, not a reason to stop the eval
            out, error = {"text": ""}, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - start
        text = out.get("text") or ""
        p, r, f = token_prf(text, gold)
        out_norm = _norm(text)
        score = PageScore(
            page.page_id, name, p, r, f,
            without_total=len(without),
            without_left=sum(snippet_left(w, out_norm) for w in without),
            boilerplate=boilerplate_lines(text, gold_norm),
            seconds=seconds,
            error=error,
            html_hash=digest,
        )
        if "title" in out:
            score.title_ok = _same_text(out.get("title"), gt.get("title")) if gt.get("title") else None
            score.author_ok = _same_author(out.get("author"), gt["author"]) if gt.get("author") else None
            gold_date = str(gt.get("publish_date") or "")[:10]
            score.date_ok = (str(out.get("published_at") or "")[:10] == gold_date) if gold_date else None
        scores.append(score)
    return scores


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _accuracy(flags: list[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return _mean([1.0 if f else 0.0 for f in known]) if known else None


def summarize(system: str, scores: list[PageScore]) -> SystemSummary:
    """Mean scores over pages for one system."""
    total_without = sum(s.without_total for s in scores)
    seconds = sum(s.seconds for s in scores)
    return SystemSummary(
        system=system,
        pages=len(scores),
        precision=_mean([s.precision for s in scores]),
        recall=_mean([s.recall for s in scores]),
        f1=_mean([s.f1 for s in scores]),
        without_leak_share=sum(s.without_left for s in scores) / total_without if total_without else 0.0,
        boilerplate_pages=sum(1 for s in scores if s.boilerplate),
        docs_per_second=len(scores) / seconds if seconds else 0.0,
        title_accuracy=_accuracy([s.title_ok for s in scores]),
        author_accuracy=_accuracy([s.author_ok for s in scores]),
        date_accuracy=_accuracy([s.date_ok for s in scores]),
        errors=sum(1 for s in scores if s.error),
    )


_WARM_UP_PAGE = (
    b"<html><head><title>Warm-up page</title><meta name='author' content='A. Writer'></head><body><article>"
    b"<h1>Warm-up page</h1><p>Published on 5 March 2024.</p>"
    + b"<p>This paragraph only loads the parsers, models and date tables once per worker process.</p>" * 5
    + b"</article></body></html>"
)


def _warm_up(systems: tuple[str, ...]) -> None:
    """Load each system's one-time state (language model, date tables) before any page is timed."""
    for name in systems:
        try:
            SYSTEMS[name](_WARM_UP_PAGE, "https://example.org/warm-up")
        except Exception:  # warm-up is best effort; real failures show up on real pages
            pass


def _score_chunk(args: tuple[list[Page], tuple[str, ...]]) -> list[PageScore]:
    pages, systems = args
    out: list[PageScore] = []
    for page in pages:
        out.extend(score_page(page, systems))
    return out


def evaluate(
    dataset: str | Path,
    systems: Iterable[str] = DEFAULT_SYSTEMS,
    *,
    workers: int = 2,
    limit: int | None = None,
) -> Report:
    """Score each system on every page of `dataset`; pages are spread over `workers` processes.

    Raises:
        DatasetError: the folder is not in the WCXB layout.
        KeyError: an unknown system name.
    """
    systems = tuple(systems)
    for name in systems:
        if name not in SYSTEMS:
            raise KeyError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    pages = find_pages(dataset, limit)
    chunks = [pages[i:i + 8] for i in range(0, len(pages), 8)]
    scores: list[PageScore] = []
    if workers <= 1 or len(chunks) == 1:
        _warm_up(systems)
        for chunk in chunks:
            scores.extend(_score_chunk((chunk, systems)))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_warm_up, initargs=(systems,)) as pool:
            for part in pool.map(_score_chunk, [(c, systems) for c in chunks]):
                scores.extend(part)
    summaries = [summarize(name, [s for s in scores if s.system == name]) for name in systems]
    return Report(str(dataset), summaries, scores)


# -------------------------------------------------------------------------------------- output
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def page_hash(html: bytes) -> str:
    """A page's identity across datasets: the first 16 hex digits of its HTML's SHA-256."""
    return hashlib.sha256(html).hexdigest()[:16]


def in_sample_note(report: Report) -> str | None:
    """A warning when newsflow is scored on pages its line-recovery model was fit to, with the model's
    cross-validated figures (tasks/recover_lines.json) to read instead."""
    from tasks.recover import model_card

    pages = {s.page_id: s.html_hash for s in report.pages if s.system == "newsflow"}
    if not pages:
        return None
    card = model_card()
    trained = set(card["page_hashes"])
    seen = sum(digest in trained for digest in pages.values())
    if not seen:
        return None
    cv = card["cv"]
    return (f"{seen} of the {len(pages)} pages were among the {card['pages']} that newsflow's line-recovery model "
            f"was fit to, so its F1 here is {'in-sample' if seen == len(pages) else 'partly in-sample'}. "
            f"Cross-validated on those {card['pages']} ({cv['folds']} folds grouped by host): F1 {cv['f1']:.3f} "
            f"(without recovery {cv['f1_without_recovery']:.3f}), `without` left {cv['without_left']:.1%}, "
            f"{cv['boilerplate_pages']:g} pages with a boilerplate line. See docs/cleaning.md.")


def render_table(report: Report):
    """A rich Table with one row per system."""
    from rich.table import Table

    n = report.summaries[0].pages if report.summaries else 0
    table = Table(title=f"{report.dataset} ({n} pages)")
    for col in ("system", "precision", "recall", "F1", "`without` left", "pages w/ boilerplate line",
                "docs/s/core", "title", "author", "date"):
        table.add_column(col, justify="left" if col == "system" else "right")
    for s in report.summaries:
        table.add_row(
            s.system + (f" ({s.errors} errors)" if s.errors else ""),
            f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}",
            _pct(s.without_leak_share), str(s.boilerplate_pages), f"{s.docs_per_second:.1f}",
            _pct(s.title_accuracy), _pct(s.author_accuracy), _pct(s.date_accuracy),
        )
    return table
