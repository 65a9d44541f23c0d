"""Citations: which outlets an article attributes its information to.

A rule table, like the cleaner's: each pattern has an id, a regex whose `outlet` group captures a
capitalized name, and an example. Runs over the body and over the segments the cleaner removed (the
"Information for this story was found via Reuters" disclaimer is removed from the body but is the
clearest attribution there is).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_NAME = r"(?P<outlet>(?:[Tt]he )?[A-Z][\w&.'’\-]*(?: (?:of |for |and |de )?[A-Z][\w&.'’\-]*){0,5})"

# (id, regex, example). Order matters only for readability; every pattern runs.
PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("found-via", re.compile(rf"\b(?:found|obtained|sourced) (?:via|from|through) {_NAME}"),
     "Information for this story was found via Reuters."),
    ("according-to-report", re.compile(
        rf"\baccording to (?:a |an |the )?(?:new |recent |earlier )?(?:report|reports|reporting|article|story|"
        rf"analysis|interview|survey)(?: published)? (?:by|from|in|on|of) {_NAME}"),
     "according to a report by The New York Times"),
    ("cited-by", re.compile(rf"\bas (?:cited|reported|quoted|first reported|noted) (?:by|in) {_NAME}"),
     "as cited by Yonhap"),
    ("told-outlet", re.compile(rf"\b(?:told|said in an interview with) {_NAME}"),
     "a senior official told Reuters"),
    ("reported-by", re.compile(rf"\b(?:reported|first reported|was reported) by {_NAME}"),
     "The deal was first reported by Bloomberg."),
    ("outlet-reported", re.compile(rf"{_NAME},? (?:reported|has reported|first reported)\b"),
     "The New York Times reported earlier this month"),
    ("according-to-outlet", re.compile(rf"\baccording to {_NAME}"),
     "according to Reuters"),
    ("outlet-mentioned", re.compile(rf"{_NAME},? (?:earlier this \w+ |last \w+ )?(?:mentioned|wrote|noted)\b"),
     "as the New York Times earlier this month mentioned"),
]

# "according to X" / "X reported" name people as often as outlets; keep those only when X looks like an
# outlet: an agency/newspaper word, a known wire service, or a broadcaster acronym.
_OUTLET_WORDS = re.compile(
    r"\b(?:Times|News|Post|Journal|Herald|Tribune|Press|Agency|Reuters|Bloomberg|Yonhap|KCNA|TASS|Xinhua|"
    r"Interfax|AFP|AP|BBC|CNN|NBC|CBS|ABC|NPR|Guardian|Telegraph|Economist|Gazette|Daily|Wire|Broadcasting|"
    r"Television|TV|Radio|Nikkei|Kyodo|Al Jazeera|Politico|Axios|Financial|Associated|Street|YTN|Fox|"
    r"Independent|Observer|Chronicle|Globe|Mirror|Express|Standard|Magazine|Report|Insider|Reporter)\b")
_NEEDS_OUTLET_WORD = {"according-to-outlet", "outlet-reported", "told-outlet", "outlet-mentioned"}
# Speed only: a pattern can match a sentence only if it contains one of these words.
_KEYWORDS = {
    "found-via": ("found", "obtained", "sourced"),
    "according-to-report": ("according",),
    "cited-by": ("cited", "reported", "quoted", "noted"),
    "told-outlet": ("told", "interview"),
    "reported-by": ("reported",),
    "outlet-reported": ("reported",),
    "according-to-outlet": ("according",),
    "outlet-mentioned": ("mentioned", "wrote", "noted"),
}
# Lines (and texts) with none of the words of any pattern are not examined at all.
_TRIGGER = re.compile(r"\b(?:" + "|".join(sorted({k for words in _KEYWORDS.values() for k in words})) + r")\b")
# A sentence ends at . ! ? or at the end of its line: sentences never span lines.
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|$)")


@dataclass(slots=True)
class Citation:
    """One attribution: the outlet, a grouping key, the pattern id and the sentence."""

    outlet: str
    outlet_key: str
    pattern: str
    sentence: str
    in_body: bool


def outlet_key(outlet: str) -> str:
    """Grouping key: lower case, no leading "the", single spaces."""
    key = re.sub(r"^the\s+", "", outlet.strip().lower())
    return " ".join(key.replace("’", "'").split())


def _clean_outlet(name: str) -> str:
    name = re.sub(r"^[Tt]he ", "", name.strip())
    return re.sub(r"['’]s$", "", name).rstrip(".,")


def sentences(text: str) -> list[str]:
    """Rough sentence split (enough to show an attribution in context), line by line; a line's last
    words count as a sentence even without a full stop (a heading, a list item)."""
    return [s.strip() for line in text.split("\n") for s in _SENTENCE.findall(line) if s.strip()]


def extract_citations(body: str, removed: list[str] | None = None) -> list[Citation]:
    """Attributions in an article body and in its removed segments, one per (outlet, sentence).

    Args:
        body: The cleaned body.
        removed: Texts of the segments the cleaner removed.

    Returns:
        Citations in text order; the same outlet in the same sentence is reported once.
    """
    out: list[Citation] = []
    seen: set[tuple[str, str]] = set()
    for text, in_body in [(body, True)] + [(t, False) for t in (removed or [])]:
        if not _TRIGGER.search(text):
            continue  # most texts cite nobody: skip the sentence split
        for line in text.split("\n"):
            if not _TRIGGER.search(line):
                continue  # sentences never span lines: a line without a pattern word has no citation
            for sentence in sentences(line):
                for pattern_id, outlet in _cited_outlets(sentence):
                    key = outlet_key(outlet)
                    if (key, sentence) not in seen:
                        seen.add((key, sentence))
                        out.append(Citation(outlet, key, pattern_id, sentence, in_body))
    return out


def _cited_outlets(sentence: str) -> Iterator[tuple[str, str]]:
    """(pattern id, outlet) for every pattern match in one sentence that names an outlet."""
    if not _TRIGGER.search(sentence):
        return
    lower = sentence.lower()
    for pattern_id, regex, _example in PATTERNS:
        if not any(k in lower for k in _KEYWORDS[pattern_id]):
            continue  # speed only: the pattern cannot match without one of its words
        for m in regex.finditer(sentence):
            outlet = _clean_outlet(m.group("outlet"))
            if outlet and (pattern_id not in _NEEDS_OUTLET_WORD or _OUTLET_WORDS.search(outlet)):
                yield pattern_id, outlet
