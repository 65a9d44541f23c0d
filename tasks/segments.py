"""The segment cleaner: a document's lines/paragraphs in, the story's lines out, each removal named.

`clean_segments` runs seven passes over the same lines, each a function below. A pass only adds
removals (position -> rule id, the rules live in `tasks/rules.py`) or, for the dateline, moves the
start of a line to its own field; later passes see what earlier ones removed, so the order matters
(a teaser heading must be known before the link lines under it, the link lists before the outlet list
next to them). Input-agnostic: HTML extraction and the text reader both end here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from tasks import rules as R
from tasks.models import RemovedSegment

_TERMINAL = ".:;,。，；：、"
# Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar.
UNSPACED_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1780-\u17ff"
                             "\u1000-\u109f]")
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+(?=[A-Z“\"])")
_OUTLET_LINE = re.compile(r"^[\w“\"'][\w .&'’\-()]{0,48}:\s*$", re.UNICODE)
_LIST_MARKER = re.compile(r"^(?:[-•*·▪►]|\d{1,2}[.)])\s+")
_SENTENCE_TAIL = ".!?\"'”’)"
# How far from the top / bottom a byline, dateline or standfirst may sit (in non-empty lines).
_HEAD_LINES, _TAIL_LINES = 5, 3
_LINK_LINE_MAX_WORDS = 20
_TITLE = "title"  # marks the title line: it moves to its own field and is not reported as boilerplate


# ---------------------------------------------------------------------------------- line tests
def normalize(text: str) -> str:
    """Case-, space- and punctuation-insensitive form used to compare lines."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def word_count(line: str) -> int:
    """Words of a line: space-separated ones, or, in a script written without spaces (Chinese, Japanese,
    Thai), one for every two of its characters, about as long as words there are."""
    return max(len(line.split()), (len(UNSPACED_SCRIPT.findall(line)) + 1) // 2)


def looks_like_title(line: str) -> bool:
    """A headline: a few words, no closing punctuation, one sentence, not a boilerplate line."""
    return (
        2 <= word_count(line) <= 35
        and len(line) <= 250
        and line[-1] not in _TERMINAL
        and not line[0].islower()
        and R.match_line_rule(line) is None
        and not _sentence_count(line) > 1
    )


def looks_like_label(line: str) -> bool:
    """A section label above a headline ("World", "Asia Pacific"): one to three capitalised words."""
    words = line.split()
    return (
        1 <= len(words) <= 3
        and len(line) <= 30
        and line[-1] not in _TERMINAL + "?!"
        and all(w[0].isupper() or not w[0].isalpha() for w in words)
    )


def _sentence_count(text: str) -> int:
    return len(_SENTENCE_END.findall(text)) + 1


def _is_title_case_name(line: str) -> bool:
    words = line.rstrip(": ").split()
    return 1 <= len(words) <= 4 and all(w[0].isupper() or not w[0].isalpha() for w in words)


def _is_link_line(line: str, norm: str, link_texts: frozenset[str]) -> bool:
    """The whole line (list marker aside) is the text of one link, and short: a teaser, not prose."""
    if line[:1].isdigit():  # "1. Title": the number is a list marker, not part of the link
        norm = normalize(_LIST_MARKER.sub("", line))
    return bool(norm) and norm.count(" ") < _LINK_LINE_MAX_WORDS and norm in link_texts


def _title_variant(norm_line: str, norm_title: str) -> bool:
    """A heading near the top that is the title with a word or two changed (site name, year, subtitle).
    Its length is counted in words as `word_count` counts them: a Chinese line of a whole short story is
    a few space-separated runs, yet no heading."""
    a, b = norm_line.split(), norm_title.split()
    if not 4 <= word_count(norm_line) <= 30 or not b:
        return False
    if norm_title.startswith(norm_line + " ") or norm_line.startswith(norm_title + " "):
        return True
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) >= 0.75


# ------------------------------------------------------------------------------------- state
@dataclass(slots=True)
class Cleaned:
    """The result: the title, the kept segments, the removed ones, and the fields lifted out of lines."""

    title: str | None
    segments: list[str]
    removed: list[RemovedSegment]
    section: str | None = None
    author: str | None = None
    flags: list[str] = field(default_factory=list)
    dateline: str | None = None

    @property
    def body(self) -> str:
        return "\n\n".join(self.segments)


@dataclass(slots=True)
class Lines:
    """The segments under cleaning, shared by the passes.

    `segs` are the stripped segments (a pass may shorten one: the dateline), `positions` the indexes of
    the non-empty ones in page order, `norms` their normalized forms (computed once), and `removed`
    the removals so far, position -> rule id.
    """

    segs: list[str]
    positions: list[int]
    norms: dict[int, str]
    removed: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, segments: list[str]) -> Lines:
        segs = [s.strip() for s in segments]
        positions = [i for i, s in enumerate(segs) if s]
        return cls(segs, positions, {i: normalize(segs[i]) for i in positions})

    def kept(self) -> list[int]:
        """Positions of the non-empty segments no pass has removed yet, in page order."""
        return [i for i in self.positions if i not in self.removed]

    def removed_segments(self) -> list[RemovedSegment]:
        """The removals in page order, without the title line (it moved to its own field)."""
        return sorted(
            (RemovedSegment(position=i, text=self.segs[i], rule=rule)
             for i, rule in self.removed.items() if rule != _TITLE),
            key=lambda r: r.position,
        )


# ------------------------------------------------------------------------------------ passes
def take_title(lines: Lines) -> tuple[str | None, str | None]:
    """Text input only: the title from the first line, after an optional section label above it.

    Returns (title, section). A plain-text article has no markup to say which line is the headline,
    so the first line is the title when it reads like one; a short capitalised line before it is the
    section ("Asia"). Both lines leave the body.
    """
    positions, segs = lines.positions, lines.segs
    first = positions[0]
    second = positions[1] if len(positions) > 1 else None
    section = None
    if (
        second is not None
        and looks_like_label(segs[first])
        and looks_like_title(segs[second])
        and len(segs[second]) > len(segs[first])
    ):
        section = segs[first]
        lines.removed[first] = R.SECTION_LABEL.id
        first = second
    if not looks_like_title(segs[first]):
        return None, section
    lines.removed[first] = _TITLE
    return segs[first], section


def remove_boilerplate_lines(lines: Lines, title: str | None) -> str | None:
    """Each line on its own: the line rules, the repeated title, bylines, author bios, repeated lines.

    Returns the author a byline named, if any. Bylines count only near the top or bottom (or when they
    start "Written by"), author bios only in the last lines, and a repeated line only when long enough
    to be a caption or banner shown twice: the same words mid-story are prose.
    """
    segs, norms, removed = lines.segs, lines.norms, lines.removed
    norm_title = normalize(title) if title else None
    head = set(lines.positions[:_HEAD_LINES])
    tail = set(lines.positions[-_TAIL_LINES:])
    edge = head | tail
    author = None
    seen: set[str] = set()
    for i in lines.positions:
        if i in removed:
            continue
        line = segs[i]
        norm = norms[i]
        if norm_title and (norm == norm_title or (i in head and _title_variant(norm, norm_title))):
            removed[i] = R.REPEATED_TITLE.id
            continue
        rule = R.match_line_rule(line)
        if rule is not None:
            removed[i] = rule.id
            continue
        if i in edge or line.lower().startswith(("written by", "words by")):
            m = R.BYLINE.pattern.match(line) if len(line) <= R.BYLINE.max_chars else None
            if m:
                removed[i] = R.BYLINE.id
                author = author or m.group("author")
                continue
        if i in tail and len(line) <= R.AUTHOR_BIO.max_chars and R.AUTHOR_BIO.pattern.match(line):
            removed[i] = R.AUTHOR_BIO.id
            continue
        if norm in seen and len(norm.split()) >= 6 and len(line) <= 300 and line[0] not in "-|•*#/+{}<":
            removed[i] = R.REPEATED_LINE.id
            continue
        if norm:
            seen.add(norm)
    return author


def remove_link_lists(lines: Lines, link_texts: frozenset[str]) -> None:
    """HTML input: lines that are each entirely the text of a link, in runs, under a teaser heading or
    at the very top/bottom ("Related", "Most read" blocks that trafilatura keeps as paragraphs).

    A list that the story introduces itself (the prose line before it ends with ":") is content.
    """
    segs, positions, removed = lines.segs, lines.positions, lines.removed
    kept = lines.kept()
    is_link = {i: _is_link_line(segs[i], lines.norms[i], link_texts) for i in kept}
    order = {p: k for k, p in enumerate(positions)}
    intro = None  # the last prose line before the current run of link lines
    for k, i in enumerate(kept):
        if not is_link[i]:
            intro = i
            continue
        if intro is not None and segs[intro].endswith(":") and not any(
                p in removed for p in positions[order[intro] + 1:order[i]]):
            continue
        prev_i = kept[k - 1] if k else None
        next_i = kept[k + 1] if k + 1 < len(kept) else None
        in_run = any(j is not None and is_link[j] and abs(order[j] - order[i]) == 1 for j in (prev_i, next_i))
        before = positions[order[i] - 1] if order[i] else None
        under_teaser = before is not None and removed.get(before) == R.TEASER.id
        at_edge = (k < 2 or k >= len(kept) - 2) and len(segs[i].split()) <= 6
        if in_run or under_teaser or at_edge:
            removed[i] = R.LINK_LIST.id


def remove_outlet_lists(lines: Lines) -> None:
    """Lists of outlets ("BBC News:", "AP News:"): runs of short title-case "Name:" lines, or one next to
    a source-list heading. One such line alone is more likely a label in the story, so it stays."""
    segs, positions, removed = lines.segs, lines.positions, lines.removed
    candidates = [i for i in lines.kept() if _OUTLET_LINE.match(segs[i]) and _is_title_case_name(segs[i])]
    cand_set = set(candidates)
    order = {p: k for k, p in enumerate(positions)}
    for i in candidates:
        k = order[i]
        neighbours = [positions[j] for j in (k - 1, k + 1) if 0 <= j < len(positions)]
        if any(n in cand_set or removed.get(n) == R.SOURCE_HEADING.id for n in neighbours):
            removed[i] = R.OUTLET_LIST.id


def remove_standfirst_duplicate(lines: Lines) -> None:
    """A standfirst (a full sentence of 12+ words near the top) that the next paragraph repeats whole:
    sites print the summary above the story and again as its first sentence."""
    segs, norms = lines.segs, lines.norms
    kept = lines.kept()
    for a, b in list(zip(kept, kept[1:]))[:_HEAD_LINES]:
        na, nb = norms[a], norms[b]
        if len(na.split()) >= 12 and segs[a][-1] in _SENTENCE_TAIL and na != nb and na in nb:
            lines.removed[a] = R.STANDFIRST_DUPLICATE.id


def remove_promo_outro(lines: Lines) -> None:
    """A promotional closing paragraph (contact us, subscribe, book now). Only the last two lines of a
    story longer than three: the same words mid-story are prose."""
    kept = lines.kept()
    for i in kept[-2:] if len(kept) > 3 else []:
        line = lines.segs[i]
        if len(line) <= R.PROMO_OUTRO.max_chars and R.PROMO_OUTRO.pattern.search(line):
            lines.removed[i] = R.PROMO_OUTRO.id


def take_dateline(lines: Lines) -> str | None:
    """A dateline ("LONDON (Reuters) -") opening one of the first three paragraphs: returned, and cut from
    its line. It is part of a line, not a removed line, so it goes to its own field (Article.extra
    ["dateline"]), not to the removals. Only paragraphs over 80 characters: a short line is a heading."""
    for i in lines.kept()[:3]:
        m = R.DATELINE.pattern.match(lines.segs[i])
        if m and len(lines.segs[i]) > 80:
            lines.segs[i] = lines.segs[i][m.end():]
            return m.group("dateline").rstrip(" –—-").strip()
    return None


# ------------------------------------------------------------------------------- composition
def clean_segments(
    segments: list[str],
    title: str | None,
    *,
    detect_title: bool,
    link_texts: frozenset[str] | None = None,
) -> Cleaned:
    """Remove boilerplate segments (lines/paragraphs); detect the title first when asked to.

    Args:
        segments: the lines/paragraphs of the extracted text, in page order.
        title: the known title, if any (ignored when `detect_title` and there is a line to read it from).
        detect_title: read an optional section label and the title from the first lines (text input).
        link_texts: normalized texts of the page's links (HTML input); lines that are entirely a link
            are a teaser signal.

    Every removal is recorded with its position in `segments` and the id of the rule that removed it.
    """
    lines = Lines.of(segments)
    section = None
    if detect_title and lines.positions:
        title, section = take_title(lines)
    author = remove_boilerplate_lines(lines, title)
    if link_texts:
        remove_link_lists(lines, link_texts)
    remove_outlet_lists(lines)
    remove_standfirst_duplicate(lines)
    remove_promo_outro(lines)
    dateline = take_dateline(lines)
    return Cleaned(
        title=title,
        segments=[lines.segs[i] for i in lines.kept()],
        removed=lines.removed_segments(),
        section=section,
        author=author,
        flags=[] if title else ["title_missing"],
        dateline=dateline,
    )
