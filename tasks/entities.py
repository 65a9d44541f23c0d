"""Rule-based named-entity extraction with spelling-variant merging.

Why rules and not an NLP model: spaCy's English models are not published on PyPI by their maintainers
(only unofficial re-uploads), and a model download at run time is not allowed. So an entity is a run
of capitalized words (with "of"/"the"/"al"-style joiners inside), found by one regex per article:
cheap (tens of microseconds per article) and good enough to answer "who is mentioned".

Normalization: every surface form gets a merge key (ASCII-folded, hyphens and apostrophes dropped,
common transliteration variants collapsed: y/i, ey/ei, kh/h, ou/u, doubled letters), so
"Kim Jong-un" and "Kim Jong Un", "Sergei" and "Sergey Shoigu" share a key. Within one article a
one-word mention ("Putin", "Shoigu") counts for the longer name it abbreviates ("Vladimir Putin").
The kind (person, org, place, other) is a heuristic from titles before the name, suffix words and
prepositions; see docs/warehouse.md for its limits.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from collections import Counter
from dataclasses import dataclass

from tasks.models import sha256_hex

_UPPER = r"[A-Z\u00C0-\u00DE]"
_WORD = rf"{_UPPER}[\w'’.\-]*\w|{_UPPER}"
_JOIN = r"(?:of|the|de|al|bin|von|van|da|del|la)"
# A capitalized run: Word (Word | joiner Word)*; joiners only between capitalized words. The first word
# is written capital-first, then "not inside a word", so the regex engine can skip to capitals (a leading
# look-behind finds the same matches but tries every position).
_RUN = re.compile(rf"{_UPPER}(?<![\w'’]{_UPPER})(?:[\w'’.\-]*\w)?(?:[ \-](?:{_JOIN} )?(?:{_WORD}))*")


def _opens_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 8):start]
    stripped = before.rstrip(" \t\"“‘'(")
    return start == 0 or not stripped or "\n" in before[len(stripped):] or stripped[-1] in ".!?:;\n"

# Words that are capitalized for grammar, not because they name something.
STOPWORDS = frozenset("""
a an the this that these those there their they them then than he she it its his her hers we our us
you your i me my mine in on at to of for from by with without about after before during while when
where what which who whom whose why how and or but nor so yet if also as is are was were be been
being has have had do does did not no yes all any both each every some such more most many much
other another one two three first second last according however meanwhile furthermore moreover
interestingly additionally recalling adding although though despite since until unless because
monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december today yesterday tomorrow read also said says say mr mrs ms
dr sir
""".split())

# Title words in front of a name: stripped from the name, and evidence that it names a person.
PERSON_TITLES = frozenset("""
president leader minister prime premier chairman chairwoman chair secretary senator governor general
spokesperson spokesman spokeswoman ambassador king queen prince princess pope chancellor mayor
director chief ceo envoy commander colonel admiral captain mr mrs ms dr sir lord lady defense defence
foreign state deputy vice supreme former official adviser advisor correspondent reporter editor
""".split())

ORG_SUFFIXES = frozenset("""
times news agency post journal herald tribune press reuters bloomberg network broadcasting
broadcaster ministry department office council committee commission party army navy forces force
corp corporation inc ltd company group bank university institute association union organization
organisation kremlin pentagon parliament congress senate court tv television radio media service
services foundation fund
""".split())

PLACE_SUFFIXES = frozenset("""
peninsula city province state states republic kingdom island islands sea ocean river mountains
region oblast strait gulf bay county district valley
""".split())

_PLACE_PREPOSITIONS = frozenset("in to from at near across toward towards via into inside outside "
                                "around between".split())

_FOLD_RULES = [(re.compile(p), r) for p, r in (
    (r"kh", "h"), (r"ph", "f"), (r"ou", "u"), (r"ey\b", "ei"), (r"iy\b", "i"), (r"y", "i"),
    (r"(\w)\1", r"\1"),
)]


@dataclass(slots=True)
class Mention:
    """One entity in one article: its merge key, display name, kind, every surface form and the count."""

    key: str
    name: str
    kind: str
    surface_forms: Counter

    @property
    def count(self) -> int:
        return sum(self.surface_forms.values())


def ascii_fold(text: str) -> str:
    """Strip accents and map typographic apostrophes so variants compare equal."""
    text = text.replace("’", "'")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=65536)
def entity_key(name: str) -> str:
    """Merge key for a name: variants such as "Kim Jong-un"/"Kim Jong Un" and "Sergei"/"Sergey" coincide.

    Args:
        name: A surface form without title words.

    Returns:
        Lower-case, ASCII, space-separated tokens with transliteration variants folded.
    """
    text = ascii_fold(name).lower()
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    for pattern, repl in _FOLD_RULES:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def entity_id_for(key: str) -> str:
    """Stable id of an entity: hash of its merge key."""
    return sha256_hex(key)[:16]


_POSSESSIVE = re.compile(r"['’]s$")
_DEMONYM = re.compile(r"(?:ean|ian|ese|ish|ican)$")
_CONTRACTION = re.compile(r"^I['’](?:m|ve|d|ll)$")
_PLACE_FIRST = frozenset("north south east west united new upper lower central".split())


def _strip(tokens: list[str]) -> tuple[list[str], bool]:
    """Drop title words (and what precedes them: "Russian Defense Minister Sergey Shoigu") and
    joiners; report whether a person title was there."""
    titled = False
    lowered = [t.lower().replace("’s", "").replace("'s", "") for t in tokens]
    last_title = max((i for i, t in enumerate(lowered) if t in PERSON_TITLES), default=-1)
    if last_title >= 0:
        if last_title == len(tokens) - 1:
            return [], True  # a role without a name ("Russian Defense Minister")
        tokens, titled = tokens[last_title + 1:], True
    while tokens and (tokens[0].lower() in PERSON_TITLES or tokens[0].lower() in STOPWORDS):
        titled = titled or tokens[0].lower() in PERSON_TITLES
        tokens = tokens[1:]
    while tokens and tokens[-1].lower() in STOPWORDS | {"of", "the", "and"}:
        tokens = tokens[:-1]
    return tokens, titled


@lru_cache(maxsize=65536)
def _analyze(run: str) -> tuple[str, str, tuple[str, ...], bool] | None:
    """(key, surface, tokens, titled) for one capitalized run, or None when it names nothing.
    Cached: the same runs recur within and across articles."""
    tokens, titled = _strip(run.split())
    if not tokens or _DEMONYM.search(tokens[-1].lower().rstrip("s’'")):
        return None  # nationality adjectives ("North Korean", "Russian") are not entities
    surface = re.sub(r"['’]s$", "", " ".join(tokens))
    if _CONTRACTION.match(surface):
        return None  # I'm, I've, I'd, I'll
    key = entity_key(surface)
    if not key or key in STOPWORDS or len(key) < 2:
        return None
    return key, surface, tuple(tokens), titled


def _kind(tokens: tuple[str, ...] | list[str], titled: bool, before: str) -> str:
    last = _POSSESSIVE.sub("", tokens[-1].lower())
    words = before.split()
    prev = words[-1].lower() if words else ""
    if len(tokens) == 1 and tokens[0].isupper() and len(tokens[0]) >= 2:
        return "org"  # acronyms: KCNA, YTN, NATO
    if last in ORG_SUFFIXES or tokens[0].lower() == "the":
        return "org"
    if last in PLACE_SUFFIXES:
        return "place"
    if titled or prev in PERSON_TITLES:
        return "person"
    if tokens[0].lower() in _PLACE_FIRST:
        return "place"
    if prev in _PLACE_PREPOSITIONS:
        return "place"
    return "other"


def extract_entities(text: str) -> list[Mention]:
    """Entities in one article's text (title + body), merged by key, with surface forms and counts.

    Args:
        text: Plain article text; read in its composed form (NFC), so a name written with combining
            accents ("Ha" + U+0300) is one word, as "Hà" is.

    Returns:
        One Mention per distinct entity key, most mentioned first.
    """
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    found: dict[str, Mention] = {}
    kinds: dict[str, Counter] = {}
    candidates = []
    mid_sentence: set[str] = set()
    for m in _RUN.finditer(text):
        analyzed = _analyze(m.group(0))
        if analyzed is None:
            continue
        key, surface, tokens, titled = analyzed
        at_start = _opens_sentence(text, m.start())
        if not at_start or titled:
            mid_sentence.add(key)
        candidates.append((key, surface, tokens, titled, at_start, m.start()))
    name_parts = {part for c in candidates if " " in c[0] for part in c[0].split()}
    for key, surface, tokens, titled, at_start, start in candidates:
        # A lone capitalized word opening a sentence is grammar ("Previously", "Experts") unless the
        # same word also appears capitalized mid-sentence or is part of a longer name ("Kim smiled.").
        if len(tokens) == 1 and at_start and key not in mid_sentence and key not in name_parts:
            continue
        kind = _kind(tokens, titled, text[max(0, start - 20):start])
        mention = found.get(key)
        if mention is None:
            mention = found[key] = Mention(key, surface, kind, Counter())
            kinds[key] = Counter()
        mention.surface_forms[surface] += 1
        kinds[key][kind] += 1
    for key, mention in found.items():
        counted = kinds[key]
        specific = [(n, k) for k, n in counted.items() if k != "other"]
        mention.kind = max(specific)[1] if specific else "other"
        mention.name = mention.surface_forms.most_common(1)[0][0]
    return sorted(_merge_short_forms(found).values(), key=lambda m: (-m.count, m.key))


def _merge_short_forms(found: dict[str, Mention]) -> dict[str, Mention]:
    """Fold a one-word mention into the single longer entity it abbreviates in the same article."""
    by_word: dict[str, list[str]] = {}  # word -> the longer keys containing it (not a scan per word)
    for k in found:
        if " " in k:
            words = k.split()
            for w in dict.fromkeys(words):
                by_word.setdefault(w, []).append(k)
    for key in [k for k in found if " " not in k]:
        owners = [k for k in by_word.get(key, ()) if found[k].kind != "org"
                  and k.split()[0] not in _PLACE_FIRST and k.split()[-1] not in PLACE_SUFFIXES]
        if len(owners) != 1 or found[key].kind == "org":
            continue
        owner = found[owners[0]]
        owner.surface_forms.update(found.pop(key).surface_forms)
        owner.kind = "person"  # a name later shortened to one word is a person's
    return found
