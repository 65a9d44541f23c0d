"""Generate a corpus of realistic, distinct HTML news pages offline (for the benchmark and the tests).

Templates are real article pages from the shared WCXB development set when it is present
(`../shared/datasets/wcxb-dev-articles`), else a realistic news-page skeleton (navigation, breadcrumbs,
byline, related links, newsletter box, footer, scripts) around the bundled sample articles. Each
generated page keeps its template's markup and size but gets its own text: the plain-text paragraphs
are refilled with sentences drawn (seeded) from a pool of article text, and the canonical URL is made
unique, so every page is a distinct document and a distinct article.
"""

from __future__ import annotations

import gzip
import html
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "data" / "samples"
WCXB_DIR = REPO_ROOT.parent / "shared" / "datasets" / "wcxb-dev-articles"

_PLAIN_P = re.compile(rb"(<p\b[^>]*>)([^<]{80,})(</p>)", re.IGNORECASE)
_URL_TAG = re.compile(rb"<(?:link|meta)\b[^>]*(?:canonical|og:url|twitter:url)[^>]*>", re.IGNORECASE)
_TAG_URL = re.compile(rb"""\b(?:href|content)=["']?(https?://[^"'\s>]+)""", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


def _sentences(text: str) -> list[str]:
    out = []
    for para in text.split("\n"):
        for s in _SENTENCE.split(para.strip()):
            if 40 <= len(s) <= 400:
                out.append(s)
    return out


def _sample_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SAMPLES_DIR.glob("*.txt"))]


def _skeleton(title: str, paragraphs: list[str], n: int) -> bytes:
    """A realistic news page around one article: the boilerplate trafilatura has to cut away."""
    nav = "".join(f'<li><a href="/section/{s.lower()}">{s}</a></li>' for s in
                  ("World", "Politics", "Business", "Technology", "Science", "Health", "Sport", "Culture",
                   "Opinion", "Travel", "Video", "Podcasts"))
    related = "".join(f'<li><a href="/news/{n}-{k}">Related story {k}: what happens next for the region</a></li>'
                      for k in range(8))
    footer = "".join(f'<a href="/about/{k}">Footer link {k}</a> ' for k in range(30))
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | The Daily Bench</title>
<link rel="canonical" href="https://news.example.com/2024/article-{n}">
<meta property="og:url" content="https://news.example.com/2024/article-{n}">
<meta name="author" content="Staff Reporter"><meta property="article:published_time" content="2024-03-{1 + n % 28:02d}T08:00:00Z">
<style>body{{font-family:sans-serif}} .nav li{{display:inline}} .ad{{height:250px}}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}</script>
</head><body>
<header><div class="logo"><a href="/">The Daily Bench</a></div><nav><ul class="nav">{nav}</ul></nav>
<form action="/search"><input name="q" placeholder="Search"></form></header>
<div class="ad">Advertisement</div>
<main><ol class="breadcrumbs"><li><a href="/">Home</a></li><li><a href="/section/world">World</a></li></ol>
<article><h1>{html.escape(title)}</h1><p class="byline">By Staff Reporter</p>
<time datetime="2024-03-{1 + n % 28:02d}T08:00:00Z">March {1 + n % 28}, 2024</time>
<div class="article-body">
{body}</div>
<div class="share">Share this article: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Email</a></div>
</article>
<aside><h2>Related</h2><ul>{related}</ul></aside>
<section class="newsletter"><h2>Sign up for our newsletter</h2><p>Get the best stories in your inbox every morning.</p>
<form><input type="email"><button>Subscribe</button></form></section></main>
<footer><p>&copy; 2024 The Daily Bench. All rights reserved.</p><nav>{footer}</nav></footer>
<script src="/static/app.js"></script></body></html>
"""
    return page.encode("utf-8")


class CorpusBuilder:
    """Deterministic generator of distinct HTML pages: page `i` is always the same bytes for a seed."""

    def __init__(self, seed: int = 20240601, use_wcxb: bool | None = None, max_template_bytes: int = 1_000_000):
        self.seed = seed
        wcxb = WCXB_DIR / "html"
        self.source = "wcxb" if (use_wcxb is not False and wcxb.is_dir()) else "samples"
        self.templates: list[bytes] = []
        pool: list[str] = []
        if self.source == "wcxb":
            for path in sorted(wcxb.glob("*.html.gz")):
                page = gzip.decompress(path.read_bytes())
                if len(page) <= max_template_bytes:
                    self.templates.append(page)
            for path in sorted((WCXB_DIR / "ground-truth").glob("*.json")):
                truth = json.loads(path.read_text(encoding="utf-8")).get("ground_truth", {})
                pool.extend(_sentences(truth.get("main_content") or ""))
        for text in _sample_texts():
            pool.extend(_sentences(text))
        self.pool = pool
        self.titles = [t.splitlines()[0] for t in _sample_texts()]

    def _text(self, rng: random.Random, chars: int) -> str:
        out: list[str] = []
        size = 0
        while size < chars:
            s = rng.choice(self.pool)
            out.append(s)
            size += len(s) + 1
        return " ".join(out)

    def page(self, i: int) -> bytes:
        """The i-th page of the corpus."""
        rng = random.Random(self.seed * 1_000_003 + i)
        if self.source == "samples":
            n_par = rng.randint(6, 16)
            paragraphs = [self._text(rng, rng.randint(200, 700)) for _ in range(n_par)]
            title = f"{rng.choice(self.titles)} ({i})"
            return _skeleton(title, paragraphs, i)
        page = self.templates[i % len(self.templates)]

        def refill(m: re.Match[bytes]) -> bytes:
            text = self._text(rng, max(80, len(m.group(2))))
            return m.group(1) + html.escape(text).encode("ascii", "xmlcharrefreplace") + m.group(3)

        page = _PLAIN_P.sub(refill, page)
        # The page's own URL (canonical, og:url, also where JSON-LD repeats it) becomes unique per page.
        urls = {u.split(b"#")[0] for tag in _URL_TAG.findall(page) for u in _TAG_URL.findall(tag)}
        for url in sorted(urls, key=len, reverse=True):
            sep = b"&amp;" if b"?" in url else b"?"
            page = page.replace(url, url + sep + b"nfbench=" + str(i).encode())
        # Pages without a canonical URL still differ in bytes (their article id comes from the file path).
        return page + f"\n<!-- newsflow bench page {i} -->\n".encode()

    def pages(self, n: int, start: int = 0) -> Iterator[tuple[int, bytes]]:
        for i in range(start, start + n):
            yield i, self.page(i)

    def write(self, folder: Path, n: int, start: int = 0) -> list[Path]:
        """Write pages start..start+n-1 as NNNNNN.html into `folder` (skipping files already there)."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for i in range(start, start + n):
            path = folder / f"{i:07d}.html"
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(self.page(i))
                tmp.rename(path)
            written.append(path)
        return written
