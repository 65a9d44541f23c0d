"""The boilerplate rule table: data, not if-chains.

Each rule has an id (recorded in `removed_segments.rule`), a description, and examples that must be
removed and counter-examples that must survive; tests run every rule against its own examples.

Two kinds of rules:
- *line rules* match one whole line (segment) by pattern, within a length limit, so a long real
  sentence that merely starts with the same words is never removed;
- *context rules* look at the segment's neighbours or the title (repeated titles, section labels above
  a title, lists of outlet names, a standfirst repeated by the next paragraph). Their logic lives in
  `tasks/clean.py`; their id, description and examples live here with the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern[str] | None  # None for context rules
    max_chars: int = 250
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    # Whether the GX suite should also reject bodies that still contain a match (a leak check).
    leak_check: bool = True

    def matches(self, line: str) -> bool:
        return (
            self.pattern is not None
            and len(line) <= self.max_chars
            and self.pattern.search(line) is not None
        )


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.UNICODE)


_SEP = r"\s*(?:[:|\-–—»>•]+)\s*"

TEASER = Rule(
    id="teaser",
    description="A link to another article ('Also Read: ...', 'ALSO READ | ...', 'Read more: ...', "
    "'Related: ...'), or such a label standing alone.",
    pattern=_rx(
        r"^\W{0,3}(?:also\s+read|read\s+also|read\s+more|more\s+from\s+[\w .]{1,40}|related(?:\s+(?:stories|"
        r"articles|news|posts?|coverage|reading|content))?|recommended(?:\s+(?:stories|articles|for you|reading))?"
        r"|see\s+also|don'?t\s+miss|must\s+read|you\s+may\s+(?:also\s+)?like|you\s+might\s+(?:also\s+)?like|"
        r"more\s+(?:stories|news|on\s+this\s+story)|trending(?:\s+now)?|top\s+stories|editor'?s\s+picks?|"
        r"watch|listen|suggested\s+reading|further\s+reading|in\s+other\s+news|latest\s+news)"
        rf"(?:{_SEP}.+|\s*[:|\-–—]?\s*\W{{0,3}}$)"
    ),
    max_chars=220,
    examples=(
        "Also Read: Quran Burnings: Violent Protests in Sweden, At Least 3 Arrested",
        "ALSO READ | Markets rally as inflation cools",
        "Also read - Five things to know about the summit",
        "Read more: How the deal came together",
        "READ MORE",
        "Related: Earlier coverage of the talks",
        "Related Stories",
        "You may also like: Ten photos from the forum",
        "» Read more: the full interview",
    ),
    counter_examples=(
        "He said he would also read the report before the vote.",
        "Read more carefully, the statement suggests a shift in policy.",
        "Related parties must disclose the transaction, the regulator said.",
        "Watchdogs have warned about the deal for months.",
    ),
)

DISCLAIMER = Rule(
    id="disclaimer",
    description="Investment, affiliation or opinion disclaimers appended to a story.",
    pattern=_rx(
        r"^\W{0,3}disclaimer\b|not\s+(?:a\s+)?(?:an?\s+)?(?:recommendation|solicitation|offer)\s+to\s+(?:buy|sell)"
        r"|(?:does|do|should)\s+not\s+constitute\s+(?:\w+\s+){0,3}advice|not\s+(?:intended\s+as\s+)?"
        r"(?:financial|investment|legal)\s+advice|has\s+no\s+(?:securities|positions?)\s+(?:or\s+affiliations?\s+)?"
        r"(?:related|in)|holds?\s+no\s+licen[cs]es|consult\s+(?:a|your)\s+(?:professional|financial\s+advis[oe]r)"
        r"|for\s+informational\s+purposes\s+only|views\s+(?:and\s+opinions\s+)?expressed\s+(?:here(?:in)?|in\s+this\s+"
        r"(?:article|post))\s+are\s+(?:those|the\s+views)\s+of\s+the\s+author"
        r"|do(?:es)?\s+not\s+necessarily\s+reflect\s+the\s+(?:views|opinions|position)"
    ),
    max_chars=1200,
    examples=(
        "Information for this story was found via Reuters. The author has no securities or affiliations "
        "related to the organizations discussed. Not a recommendation to buy or sell. Always do additional "
        "research and consult a professional before purchasing a security. The author holds no licenses.",
        "Disclaimer: This article is for informational purposes only and does not constitute investment advice.",
        "The views expressed in this article are those of the author and do not necessarily reflect the "
        "position of this publication.",
        "Nothing here is financial advice; please consult your financial adviser.",
    ),
    counter_examples=(
        "The minister said the proposal was not a recommendation but an order.",
        "Analysts advised investors to sell before the announcement.",
    ),
)

COMMENT_PROMPT = Rule(
    id="comment-prompt",
    description="Comment-section headings and prompts ('Leave a comment', 'Discussion about this post').",
    pattern=_rx(
        r"^\W{0,3}(?:leave\s+a\s+(?:comment|reply)|post\s+a\s+comment|add\s+(?:a\s+)?comment|"
        r"discussion\s+about\s+this\s+(?:post|article|story)|\d+\s+(?:comments?|responses?|replies)|comments?"
        r"|responses?|join\s+the\s+(?:conversation|discussion)|show\s+(?:all\s+)?comments|view\s+(?:all\s+)?comments"
        r"|be\s+the\s+first\s+to\s+comment|comments\s+are\s+closed|you\s+must\s+be\s+logged\s+in\s+to\s+post\s+a\s+comment"
        r"|what\s+do\s+you\s+think\?.{0,40}comments?.{0,20}|cancel\s+reply|conversation)\W{0,3}$"
    ),
    max_chars=120,
    examples=(
        "Leave a comment",
        "Discussion about this post",
        "Leave a Reply",
        "12 Comments",
        "Comments",
        "Join the conversation",
        "Be the first to comment!",
    ),
    counter_examples=(
        "Comments made by the minister drew criticism from the opposition.",
        "He declined to leave a comment on the record.",
    ),
)

NAVIGATION = Rule(
    id="navigation",
    description="Navigation and share prompts ('Back to blog', 'Share this article', 'Print', breadcrumbs).",
    pattern=_rx(
        r"^\W{0,3}(?:back\s+to\s+(?:blog|top|home|news|articles?|the\s+\w+|all\s+\w+)|(?:previous|next)\s+"
        r"(?:post|article|story)(?:\s*[:»>].*)?|share\s+(?:this|on|via)(?:\s+\w+){0,3}|share|print|email|tweet|"
        r"copy\s+link|link\s+copied|skip\s+to\s+(?:main\s+)?content|home\s*[>»/|]\s*.{0,80}|go\s+to\s+top|"
        r"scroll\s+to\s+top|advertisement|sponsored(?:\s+content)?|continue\s+reading(?:\s+below)?|"
        r"story\s+continues\s+below(?:\s+advertisement)?|article\s+continues\s+below)\W{0,3}$"
    ),
    max_chars=120,
    examples=("Back to blog", "Share this article", "Print", "Home > World > Asia", "ADVERTISEMENT",
              "Story continues below advertisement"),
    counter_examples=(
        "Back to the negotiating table, the envoys tried again.",
        "Shares in the company fell 4% on Monday.",
    ),
)

CALL_TO_ACTION = Rule(
    id="call-to-action",
    description="Newsletter, app, subscription and social-follow prompts.",
    pattern=_rx(
        r"^\W{0,3}(?:(?:sign\s+up|subscribe|register)\b.{0,80}(?:newsletter|updates|inbox|free|today|now|here|"
        r"alerts?|daily|weekly)|click\s+here\b.{0,80}|(?:download|get)\s+(?:the|our)\s+(?:free\s+)?(?:\w+\s+)?app\b.{0,60}"
        r"|follow\s+us\s+on\b.{0,80}|like\s+us\s+on\s+facebook.{0,60}|(?:join|subscribe\s+to)\s+our\s+"
        r"(?:\w+\s+)?(?:newsletter|channel|mailing\s+list|whatsapp|telegram).{0,60}|get\s+the\s+latest\b.{0,60}"
        r"(?:newsletter|inbox|app|alerts?)|enter\s+your\s+email.{0,60}|by\s+signing\s+up.{0,160}|"
        r"we\s+use\s+cookies.{0,200}|this\s+(?:web)?site\s+uses\s+cookies.{0,200}|accept\s+(?:all\s+)?cookies)\W{0,3}$"
    ),
    max_chars=260,
    examples=(
        "Sign up for our daily newsletter",
        "CLICK HERE TO GET THE FOX NEWS APP",
        "Follow us on Twitter and Facebook for the latest updates.",
        "Subscribe to our newsletter",
        "We use cookies to improve your experience on our site.",
    ),
    counter_examples=(
        "More than a million people signed up for the programme in its first week, officials said.",
        "Click, the company's new payment service, launched in March.",
    ),
)

SOURCE_HEADING = Rule(
    id="source-list",
    description="Headings and entries of appended lists of outlets or sources ('Top Sources Related "
    "to ... (For R&D)', 'BBC News:', 'AP News:').",
    pattern=_rx(
        r"^\W{0,3}(?:(?:top\s+)?sources?\s+(?:related\s+to|for|used)\b.{0,160}|(?:sources?|references|"
        r"external\s+links|further\s+information)\s*:?|.{0,160}\(for\s+r\s*&\s*d\))\W{0,3}$"
    ),
    max_chars=200,
    examples=(
        "Top Sources Related to Kim Jong Un to Visit Vladimir Putin for Weapons Talks (For R&D)",
        "Sources Related to Russia-Ukraine War (For R&D)",
        "Sources:",
        "References",
    ),
    counter_examples=("Sources said the talks would resume on Tuesday.",),
)

# Context rules: matched in tasks/clean.py, documented here.
REPEATED_TITLE = Rule(
    id="repeated-title",
    description="The title repeated as a line of the body (compared case-, space- and punctuation-"
    "insensitively).",
    pattern=None,
    examples=("Kim Jong Un to Visit Vladimir Putin for Weapons Talks",),
    leak_check=False,
)
SECTION_LABEL = Rule(
    id="section-label",
    description="A short section/category label ('Asia', 'World News') on the line above the title; "
    "kept as the article's section.",
    pattern=None,
    examples=("Asia",),
    leak_check=False,
)
OUTLET_LIST = Rule(
    id="outlet-list",
    description="A run of two or more short 'Name:' lines with nothing after the colon: a list of outlet "
    "or source names, not prose.",
    pattern=None,
    examples=("BBC News:", "AP News:", "The Guardian:"),
    leak_check=False,
)
STANDFIRST_DUPLICATE = Rule(
    id="standfirst-duplicate",
    description="A standfirst/summary paragraph repeated word for word inside the next paragraph.",
    pattern=None,
    leak_check=False,
)
BYLINE = Rule(
    id="byline",
    description="A byline ('By Jane Doe', 'Written by ...') at the top or bottom; moved to the author field.",
    pattern=_rx(r"^\W{0,3}(?:written\s+|reported\s+|posted\s+)?by\s+(?P<author>[A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3}"
                r"(?:\s+(?:and|&)\s+[A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3})?)\s*(?:[,|•–—-].{0,60})?$"),
    max_chars=100,
    examples=("By Jane Doe", "By John Smith and Maria Lopez | Reuters"),
    counter_examples=("By Monday, the talks had collapsed.",),
    leak_check=False,
)

LINE_RULES: tuple[Rule, ...] = (TEASER, DISCLAIMER, COMMENT_PROMPT, NAVIGATION, CALL_TO_ACTION, SOURCE_HEADING)
CONTEXT_RULES: tuple[Rule, ...] = (REPEATED_TITLE, SECTION_LABEL, OUTLET_LIST, STANDFIRST_DUPLICATE, BYLINE)
ALL_RULES: tuple[Rule, ...] = LINE_RULES + CONTEXT_RULES


def match_line_rule(line: str) -> Rule | None:
    """The first line rule that matches the whole line, or None."""
    for rule in LINE_RULES:
        if rule.matches(line):
            return rule
    return None


def leak_patterns() -> list[str]:
    """Regexes the validation suite uses to reject bodies with boilerplate still in them.

    A body line (segment) leaks when a line rule matches it as a whole; in the body column lines are
    joined with newlines, so each pattern is anchored per line with (?m).
    """
    out = []
    for rule in LINE_RULES:
        if rule.leak_check and rule.pattern is not None:
            core = rule.pattern.pattern
            # Anchor per line and apply the same length limit as the line rule.
            out.append(rf"(?im)^(?=.{{0,{rule.max_chars}}}$).*?(?:{core})")
    return out
