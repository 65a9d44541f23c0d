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
from functools import lru_cache


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
    # Speed only: a line can match only if it contains one of these lower-case words, so the (slow,
    # search-anywhere) pattern is skipped on ordinary prose. Empty means "always try the pattern".
    keywords: tuple[str, ...] = ()
    # Speed only, derived: for a keyword rule whose pattern is written in lower case, the same pattern
    # without IGNORECASE, searched in the lower-cased line. Python's `re` tries every branch of a
    # search-anywhere pattern at every position, and folding case makes each try ~3x dearer.
    lowered: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.keywords and self.pattern is not None and _written_in_lower_case(self.pattern.pattern):
            object.__setattr__(self, "lowered", re.compile(self.pattern.pattern, re.UNICODE))

    def matches(self, line: str, lower: str | None = None) -> bool:
        """Whether the pattern matches the line within the length limit."""
        if self.pattern is None or len(line) > self.max_chars:
            return False
        if self.keywords:
            lower = line.lower() if lower is None else lower
            if not any(k in lower for k in self.keywords):
                return False
            if self.lowered is not None:
                return self.lowered.search(lower) is not None
        return self.pattern.search(line) is not None


def _written_in_lower_case(source: str) -> bool:
    """Whether a pattern matches the same lines case-insensitively as it matches their lower-cased
    forms case-sensitively: no upper-case letter outside its escapes (`\\W`, `\\S`), no `(?-i:...)`."""
    return "(?-i" not in source and not re.search(r"[A-Z]", re.sub(r"\\.", "", source))


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.UNICODE)


_SEP = r"\s*(?:[:|\-–—»>•]+)\s*"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?"
# A whole date: 'July 29, 2025', 'Mon, 5 March 2024', '09/10/2025', '2025-12-19'.
_DATE = (
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{{0,6}},?\s+)?(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}})"
)

TEASER = Rule(
    id="teaser",
    description="A link to another article ('Also Read: ...', 'ALSO READ | ...', 'Read more: ...', "
    "'Related: ...'), or such a label standing alone.",
    pattern=_rx(
        r"^\W{0,3}(?:also\s+read|read\s+also|read\s+more|more\s+from\s+[\w .]{1,40}|related(?:\s+(?:[\w'’-]+\s+){0,2}?"
        r"(?:stories|story|articles?|news|posts?|coverage|reading|reads?|content|links|topics|publications|guides|"
        r"resources|videos|trackers)(?:\s+(?:and\s+links|that\s+may\s+interest\s+you|you\s+may\s+like|from\s+[\w .'’-]{1,40}))?)?"
        r"|recommended(?:\s+(?:stories|articles|for you|reading))?"
        r"|you\s+(?:may|might)\s+also\s+(?:like|enjoy|be\s+interested\s+in)|more\s+(?:articles|posts|reads)"
        r"(?:\s+(?:like\s+this|you\s+may\s+like))?|(?:browse\s+)?more\s+\w+\s+recommendations"
        r"|popular\s+(?:posts|articles|stories)|most\s+(?:read|popular)|keep\s+reading"
        r"|read\s+more\s+(?:about|posts|news|stories|articles|of|from|by|like)\b[^.!?]{0,80}(?:[.:]|when\s+you\s+subscribe.{0,20})?"
        r"|also\s+read\s+(?-i:[A-Z“\"])[^.!?]{0,120}[.!?]?"
        r"|lesen\s+sie\s+(?:auch|mehr)|mehr\s+zum\s+thema|(?:à\s+)?lire\s+aussi|lee\s+(?:también|más)|leer\s+más|leia\s+também"
        r"|leggi\s+anche"
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
        "Related investing topics",
        "You might also like: The Challenges of Sustainable Palm Oil Production",
        "More book recommendations:",
        "Lesen Sie auch: Leipzig beschließt Haushalt für 2026",
        "À lire aussi : la réforme des retraites",
    ),
    counter_examples=(
        "He said he would also read the report before the vote.",
        "Read more carefully, the statement suggests a shift in policy.",
        "Related parties must disclose the transaction, the regulator said.",
        "Watchdogs have warned about the deal for months.",
        "Related research from 2019 found the same effect in mice.",
        "You may also like the older model, which costs less.",
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
        r"|^\W{0,3}(?:advertiser\s+|affiliate\s+)?disclosure\b|as\s+an\s+amazon\s+associate"
        r"|\b(?:we|i)\s+(?:may\s+|might\s+|could\s+)?(?:\w+\s+){0,2}(?:earn|receive|get)\s+(?:\w+\s+){0,3}"
        r"(?:commissions?|compensation)|may\s+earn\s+us\s+(?:a\s+)?(?:\w+\s+)?commission"
        r"|(?:through|via|from)\s+(?:our|these|the)\s+(?:affiliate\s+)?links?\b.{0,60}(?:commission|compensat)"
        r"|chosen\s+independently\s+by\s+our\s+editors|supported\s+by\s+commissions|\b(?:we|i)\s+may\s+be\s+compensated"
        r"|^\W{0,3}our\s+standards\s*:|not\s+fdic\s+insured|not\s+bank\s+guaranteed|advisory\s+services\s+are\s+(?:only\s+)?offered"
    ),
    max_chars=600,
    keywords=("disclaimer", "recommendation", "solicitation", "offer", "constitute", "advice", "securities", "position",
              "licen", "consult", "informational", "expressed", "reflect", "disclosure", "amazon", "commission",
              "compensat", "chosen independently", "fdic", "guaranteed", "advisory", "standards"),
    examples=(
        "Information for this story was found via Reuters. The author has no securities or affiliations "
        "related to the organizations discussed. Not a recommendation to buy or sell. Always do additional "
        "research and consult a professional before purchasing a security. The author holds no licenses.",
        "Disclaimer: This article is for informational purposes only and does not constitute investment advice.",
        "The views expressed in this article are those of the author and do not necessarily reflect the "
        "position of this publication.",
        "Nothing here is financial advice; please consult your financial adviser.",
        "Products are chosen independently by our editors. Purchases made through our links may earn us a commission.",
        "As an Amazon Associate we earn from qualifying purchases.",
        "DISCLOSURE: If you buy through affiliate links, I may earn a small commission.",
        "Advertiser Disclosure",
        "We may be compensated when you click on a link on this site.",
        "NOT FDIC INSURED · NOT BANK GUARANTEED · MAY LOSE VALUE",
        "Our Standards: The Thomson Reuters Trust Principles.",
    ),
    counter_examples=(
        "The minister said the proposal was not a recommendation but an order.",
        "Analysts advised investors to sell before the announcement.",
        "Sales staff may earn a commission of up to 5% on each car, the lawsuit says.",
        "The disclosure of the documents embarrassed the ministry.",
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
    description="Navigation and share prompts, template labels and sponsored tags ('Back to blog', 'Share this article', 'Print', breadcrumbs).",
    pattern=_rx(
        r"^\W{0,3}(?:back\s+to\s+(?:blog|top|home|news|articles?|the\s+\w+|all\s+\w+)|(?:previous|next)\s+"
        r"(?:post|article|story)(?:\s*[:»>].*)?|share\s+(?:this|on|via)(?:\s+\w+){0,3}|share|print|email|tweet|"
        r"copy\s+link|link\s+copied|skip\s+to\s+(?:main\s+)?content|home\s*[>»/|]\s*.{0,80}|go\s+to\s+top|"
        r"scroll\s+to\s+top|advertisement|sponsored(?:\s+content)?|continue\s+reading(?:\s+below)?|"
        r"story\s+continues\s+below(?:\s+advertisement)?|article\s+continues\s+below|back\s+to\s+(?:blogs|"
        r"articles|posts|news|stories|resources|insights)|(?:previous|next)\s+(?:post|article|story|read)\s*:.{0,150}"
        r"|table\s+of\s+contents(?:\s+\w+){0,4}|jump\s+to\s+(?:the\s+)?\w+(?:\s+\w+)?|home|tags?|topics|menu|search|"
        r"close|(?:skip\s+)?advertisement(?:\s*[:|\-–—]\s*.{0,80}|\s+skip\s+advertisement)?|advertisement\s*-\s*scroll\s+to\s+continue"
        r"|like\s+this|loading\.{3}|.{3,120}\((?:sponsored|advertisement|ad|paid\s+post)\)|\d+\s+min(?:ute)?s?\s+read|share\s+this\s+(?:post|article|story|page)(?:\s+on\s+\w+)?|print\s+this\s+(?:page|article))\W{0,3}$"
    ),
    max_chars=120,
    examples=("Back to blog", "Share this article", "Print", "Home > World > Asia", "ADVERTISEMENT",
              "Story continues below advertisement", "Back to Blogs", "Next article: Go Wins 2010 Bossie Award",
              "Previous article: Share Memory By Communicating", "Table of Contents", "- 11 min read",
              "Advertisement: New AI Book!", "JUMP TO THE LIST", "Like this:", "Loading..."),
    counter_examples=(
        "Back to the negotiating table, the envoys tried again.",
        "Shares in the company fell 4% on Monday.",
        "Home prices rose 3% in March, the survey found.",
        "The next article in the series looks at pensions.",
    ),
)

CALL_TO_ACTION = Rule(
    id="call-to-action",
    description="Newsletter, app, subscription and social-follow prompts.",
    pattern=_rx(
        r"^\W{0,3}(?:(?:sign\s+up|subscribe|register)\b.{0,80}(?:newsletter|updates|inbox|free|today|now|here|"
        r"alerts?|daily|weekly)|click\s+here\b.{0,160}|(?:download|get)\s+(?:the|our)\s+(?:free\s+)?(?:\w+\s+){0,3}app\b.{0,60}"
        r"|follow\s+us\s+on\b.{0,80}|like\s+us\s+on\s+facebook.{0,60}|(?:join|subscribe\s+to)\s+our\s+"
        r"(?:\w+\s+)?(?:newsletter|channel|mailing\s+list|whatsapp|telegram).{0,60}|get\s+the\s+latest\b.{0,60}"
        r"(?:newsletter|inbox|app|alerts?)|enter\s+your\s+email.{0,60}|by\s+signing\s+up.{0,160}|"
        r"we\s+use\s+cookies.{0,200}|this\s+(?:web)?site\s+uses\s+cookies.{0,200}|accept\s+(?:all\s+)?cookies"
        r"|(?:join|get|sign\s+up\s+for|subscribe\s+to)\s+(?:our|the)\s+(?:free\s+)?(?:[\w'’]+\s+){0,3}(?:newsletters?|"
        r"mailing\s+list|community)\b.{0,80}|newsletters?|sign\s*-?\s*up|subscribe(?:\s+(?:now|today|here|to\s+us))?|"
        r"register(?:\s+(?:now|today|here))?|log\s*in|sign\s+in|book\s+a\s+(?:free\s+)?(?:demo|call|consultation)(?:\s+\w+){0,3}"
        r"|get\s+started(?:\s+(?:today|now|for\s+free))?|apply\s+now|request\s+a\s+(?:free\s+)?(?:quote|demo)(?:\s+\w+){0,2}"
        r"|get\s+a\s+free\s+(?:quote|demo|trial|consultation)(?:\s+\w+){0,2}|start\s+(?:your\s+)?free\s+trial.{0,40}"
        r"|follow\s+us|(?:thanks|thank\s+you)\s+for\s+subscribing.{0,120}|.{0,60}(?:delivered|straight|right)\s+(?:in)?to\s+your\s+inbox.{0,60}"
        r"|would\s+you\s+like\s+to\s+receive\s+notifications.{0,60}|subscribe\s+(?:for|to\s+get)\s+.{0,60}"
        r"|(?:join|sign\s+up\s+for|create)\s+(?:\w+\s+)?(?:for\s+free|a\s+free\s+account).{0,60}"
        r"|.{0,80}\bsign\s*-?\s*up\s+(?:for|to)\s+(?:our|the)\s+(?:[\w'’&+]+\s+){0,3}(?:newsletters?|emails?|updates)\b.{0,160}"
        r"|sign\s*-?\s*up\s+and\s+get\b.{0,120}|subscribe\s+(?:below|now|today|here|and|to\s+(?:stay|receive|get))\b.{0,140}"
        r"|.{0,80}\bfollow\s+(?:us|me|(?:(?-i:[A-Z])[\w'’]*\s+){1,4})on\s+(?:facebook|instagram|twitter|x|pinterest|youtube|tiktok|linkedin)\b.{0,160}"
        r"|join\s+our\s+mailing\s+list.{0,100}|.{0,40}exclusive\s+to\s+[\w+ ]{1,30}subscribers.{0,40}|subscribe\s+to\s+get\s+access"
        r"|pin\s+(?:it\s+)?for\s+later|.{0,60}\b(?:funded|supported)\s+by\s+readers\s+like\s+you.{0,60}"
        r"|.{0,80}\bif\s+you\s+(?:liked|enjoyed|found)\s+(?:this|my)\s+(?:article|post|story|piece)\b.{0,40}(?:please|share|subscri|consider).{0,160}"
        r"|.{0,80}\b(?:agree|consent)\s+to\s+(?:our\s+(?:terms|privacy)|the\s+(?:terms\s+(?:of\s+(?:use|service)|(?:&|and)\s+"
        r"conditions)|privacy\s+policy)).{0,300}"
        r"|already\s+have\s+an\s+account\W+(?:log|sign)\s*in|.{0,40}\b(?:share\s+your\s+story|spread\s+the\s+word)\b.{0,40}"
        r"|join\s+(?:the|our)\s+(?:\w+\s+)?(?:facebook|linkedin|slack|discord|telegram|whatsapp|reddit)\s+(?:group|community|"
        r"channel|server)\b.{0,100}|.{0,60}\btell\s+your\s+friends\b.{0,60}(?:rewards?|newsletter|subscribe).{0,40}"
        r"|get\s+the\s+latest\s+(?:news|updates|stories|insights|articles)\s+(?:about|from|on)\b.{0,80}"
        r"|(?:e-?mail|contact)(?:\s+us)?\s*:\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+|follow\s+@\w+.{0,80}|(?:got|have)\s+a\s+(?:news\s+)?tip\b.{0,120}|contact\s+the\s+(?:author|reporter|writer)\b.{0,100}"
        r"|.{0,80}\b(?:use|with)\s+(?:promo\s+|coupon\s+|discount\s+)?code\s*:?\s*[A-Z0-9]{4,}.{0,60})\W{0,3}$"
    ),
    max_chars=260,
    keywords=("sign", "subscri", "register", "click", "app", "@", "tip", "contact", "follow", "facebook", "join", "newsletter", "mailing",
              "community", "latest", "email", "cookie", "log", "book", "started", "apply", "request", "free", "inbox",
              "notifications", "readers", "if you", "agree", "consent", "account", "share your story",
              "spread the word", "tell your friends", "code", "pin"),
    examples=(
        "Sign up for our daily newsletter",
        "CLICK HERE TO GET THE FOX NEWS APP",
        "Follow us on Twitter and Facebook for the latest updates.",
        "Subscribe to our newsletter",
        "We use cookies to improve your experience on our site.",
        "Join Our Newsletter",
        "Sign up",
        "Book a demo",
        "Get started today",
        "Subscribe for the Latest Updates",
        "Get the best of Creative Boom delivered to your inbox weekly",
        "Would you like to receive notifications about new posts?",
        "Thanks for subscribing! Look out for your first newsletter in your inbox soon!",
        "Join Medium for free to get updates from this writer.",
        "For daily wit & wisdom, sign up for the Almanac newsletter.",
        "Want more from NBC Select? Sign up for our newsletter, The Selection, and shop smarter.",
        "Follow A Farmgirl's Kitchen on FACEBOOK, PINTEREST and YouTube.",
        "If you liked this article, please consider sharing it and subscribing.",
        "By submitting this form you agree to our Terms & Conditions and Privacy Policy.",
        "Get $10 off your first order with code: TRYNOW",
        "PIN FOR LATER",
        "Already have an account? Log in",
        "Help me spread the word about this podcast!",
        "Join the Facebook group – https://www.facebook.com/groups/example",
        "Love Tech Weekly? Tell your friends and get rewards.",
        "Get the latest news about our live events and online courses.",
        "Download the NBC News app for breaking news",
        "Follow @jdoe on Twitter",
        "Have a news tip? Email us at tips@example.com",
        "Contact the author at jane@example.com",
        "Subscribe below and stay updated with the latest developer guides and industry insights.",
        "Sign up and get $200 in credit for your first 60 days.",
    ),
    counter_examples=(
        "More than a million people signed up for the programme in its first week, officials said.",
        "Click, the company's new payment service, launched in March.",
        "Newsletters from the 1990s show the firm knew of the risk.",
        "Subscribers will get the update first, the company said.",
        "Police follow the suspect on Instagram, court papers show, and the case was brought in May 2024.",
        "Both sides agree to the terms of the ceasefire, the envoy said on Tuesday after a long night of talks.",
    ),
)

SOURCE_HEADING = Rule(
    id="source-list",
    description="Headings and entries of appended lists of outlets or sources ('Top Sources Related "
    "to ... (For R&D)', 'BBC News:', 'AP News:').",
    pattern=_rx(
        r"^\W{0,3}(?:(?:top\s+)?sources?\s+(?:related\s+to|used\s+for)\b.{0,160}|.{0,160}\(for\s+r\s*&\s*d\))\W{0,3}$"
    ),
    max_chars=200,
    examples=(
        "Top Sources Related to Kim Jong Un to Visit Vladimir Putin for Weapons Talks (For R&D)",
        "Sources Related to Russia-Ukraine War (For R&D)",
    ),
    counter_examples=("Sources said the talks would resume on Tuesday.",
                      "References"),  # a references section is part of the article
)

COPYRIGHT = Rule(
    id="copyright",
    description="Copyright and rights-reserved footers.",
    pattern=_rx(r"^\W{0,3}(?:©|\(c\)\s*\d{4}|copyright\s*(?:©|\(c\)|\d{4}))|all\s+rights\s+reserved\W{0,3}$"),
    max_chars=200,
    examples=("© 2026 The Good Trade", "© Copyright 2004-2025 Dieter Hogen. All Rights Reserved.",
              "Copyright 2024 Example Media Ltd"),
    counter_examples=("Copyright lawyers say the ruling will be appealed.",
                      "The band reserved all rights to the recordings until 2030, he said."),
)

PAGE_META = Rule(
    id="page-meta",
    description="Date, reading-time and filing lines of the page template ('Posted in ...', 'Updated: "
    "5 March 2024', 'Filed under ...', 'Tags: ...'); the date itself comes from the metadata.",
    pattern=_rx(
        r"^\W{0,3}(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\s+(?:by|from)\s+(?:[\w.'’-]+\s*){1,5}|(?:posted|filed)\s+(?:in|under)\s+.{1,100}|(?:tags|tagged|categories|category|topics)\s*:.{0,150}"
        rf"|(?:(?:published|updated|last\s+updated|posted|date)(?:\s+(?:on|at))?\s*:?\s*)?{_DATE}"
        r"(?:\s*(?:at\s+|,\s*)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*\w{0,4})?"
        r"|(?:published|updated|last\s+updated|posted)(?:\s+on)?"
        r"|(?:published|updated|posted)\s+\d{1,3}\s+(?:sec|min|minute|hour|hr|day|week)s?\s+ago)\W{0,3}$"
    ),
    max_chars=160,
    examples=("Posted in Blockchain, Smart Contract, Technologies", "Updated: 5 March 2024",
              "Published on December 16, 2025", "Tags: tax, income, filing", "Last updated 09/10/2025",
              "11/12/2025 by One Tree Planted", "July 29, 2025", "Last updated on September 16th, 2023 at 09:27 am",
              "Posted on", "Updated 2 hours ago"),
    counter_examples=("Published in 1998, the novel sold a million copies.",
                      "Updated figures show the deficit narrowed to 3% of GDP.",
                      "In 2019 the company moved its headquarters to Austin, Texas.", "2 cups of flour"),
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
    description="A standfirst/summary sentence near the top (12+ words, ending a sentence) repeated word for "
    "word inside the next paragraph.",
    pattern=None,
    examples=("North Korean leader Kim Jong Un is reportedly preparing to embark on a rare overseas trip to Russia "
              "this month, according to a report by The New York Times.",),
    leak_check=False,
)
LINK_LIST = Rule(
    id="link-list",
    description="Two or more consecutive short lines that are each entirely the text of a link on the "
    "page (a related-stories or outlet list), one such line right under a teaser heading, or a short "
    "link line at the very top or bottom (blog name, 'Blog Index').",
    pattern=None,
    examples=("Royal Family News: Queen Elizabeth's never-before-seen photos to go on display",),
    leak_check=False,
)
REPEATED_LINE = Rule(
    id="repeated-line",
    description="A line that already appeared earlier on the page (captions and credits repeated as text, "
    "banners shown twice); the first copy stays.",
    pattern=None,
    examples=("+ + + Limited-Time Deals +++ Some Offers Expiring Soon +++ Don't Miss Out! + + +",),
    leak_check=False,
)
CREDIT = Rule(
    id="credit",
    description="A photo/image credit or caption credit on its own line ('Photo: Jane Doe/Reuters', "
    "'Image credit: NASA', 'Getty Images').",
    pattern=_rx(
        r"^\W{0,3}(?:(?:additional\s+)?(?:reporting|writing|editing|research)\s+by\s+[A-Z].{1,150}"
        r"|(?:photo|image|picture|video|illustration|graphic|feature\s+image|header\s+image|cover\s+image)"
        r"(?:\s+(?:credit|courtesy|source))?s?\s*(?::|by\b|via\b|courtesy\b|©).{1,120}|(?:credit|source)\s*:\s*"
        r"(?:[\w.&'’-]+\s*){1,6}(?:/\s*(?:[\w.&'’-]+\s*){1,4})?|(?:[\w.'’-]+\s+){0,4}(?:/\s*)?(?:getty\s+images|"
        r"shutterstock|ap\s+photo|reuters|afp|istock(?:photo)?|unsplash|pexels)(?:\s+via\s+[\w ]+)?)\W{0,3}$"
    ),
    max_chars=160,
    examples=("Photo: Jane Doe/Reuters", "Image credit: NASA", "Getty Images", "Feature image by Girlfriend Collective",
              "(Photo by John Smith/AP Photo)", "Source: ANI",
              "Reporting by Jane Doe in London; Editing by John Smith"),
    counter_examples=("Photographs taken by the drone were shared with investigators.",
                      "Source code for the tool is on GitHub, the team said."),
)
DATELINE = Rule(
    id="dateline",
    description="A news dateline ('WASHINGTON (Reuters) -', 'NORTH KOREA –') opening the first paragraph; "
    "moved to the article's dateline field, the sentence after it stays.",
    pattern=re.compile(
        r"^(?P<dateline>(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3})(?:,\s*[A-Z][\w.]+(?:\s+[A-Z][\w.]+)?)?"
        r"(?:,?\s+\w{3,9}\.?\s+\d{1,2}(?:,\s*\d{4})?)?\s*(?:\((?:[A-Z][\w&. ]{1,30})\))?\s*[–—-]{1,2})\s+(?=[A-Z“\"])"
    ),
    examples=("WASHINGTON (Reuters) - The Senate voted on Tuesday to ...",
              "NORTH KOREA – In a significant geopolitical development, ..."),
    counter_examples=("AI – the technology everyone talks about – is changing work.",),
    leak_check=False,
)
PROMO_OUTRO = Rule(
    id="promo-outro",
    description="A promotional closing paragraph among the last two lines: it asks the reader to contact, "
    "subscribe, book, buy or sign up ('reach out to us', 'request a quote', 'grab my cookbook').",
    pattern=_rx(
        r"\b(?:contact\s+us|reach\s+out\s+to\s+(?:us|our)|get\s+in\s+touch|request\s+a\s+(?:free\s+)?(?:quote|demo|consultation)"
        r"|book\s+a\s+(?:free\s+)?(?:demo|call|consultation|session)|fill\s+out\s+the\s+form|get\s+started\s+with"
        r"|sign\s*-?\s*up\s+(?:for|to|today|now)|subscrib(?:e|ing)\s+to\s+(?:our|the|my)|call\s+us|e-?mail\s+us"
        r"|grab\s+(?:my|our|a\s+copy)|schedule\s+a\s+(?:free\s+)?(?:call|demo|consultation)|don['’]t\s+hesitate\s+to"
        r"|follow\s+us\s+on|(?:our|my)\s+(?:newsletter|mailing\s+list)|consider\s+(?:liking|sharing|subscribing|supporting)"
        r"|(?:with|through)\s+(?:a|our)\s+(?:master['’]?s|degree|program)\b.{0,80}\b(?:enroll|apply|learn\s+more)"
        r"|unlock\s+the\s+secrets|learn\s+more\s+(?:about\s+(?:our|us)|at|today)|visit\s+our\s+(?:website|site|store|shop))"
    ),
    max_chars=450,
    examples=("If you need professional guidance, do not hesitate to reach out to us. We have experts to consult with you.",
              "To get started, request a quote here and our team will get right back to you.",
              "If you're looking for more meals then make sure to grab my dinner meal plan or one of my cookbooks."),
    counter_examples=("The ministry said it would publish the full report next month.",),
    leak_check=False,
)
AUTHOR_BIO = Rule(
    id="author-bio",
    description="A short author biography among the last lines ('Jane Doe is a writer who covers ...', "
    "'Hi, I'm Jane, and I edit ...').",
    pattern=_rx(
        r"^\W{0,3}(?:(?:hi|hello),?\s+i['’]?m\s+[A-Z][\w'’-]+|(?:about\s+the\s+author\W*)?[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){1,3}"
        r",?\s+(?:is|has\s+been)\s+(?:an?\s+|the\s+)?(?:\w+\s+){0,4}(?:writer|editor|journalist|reporter|correspondent|"
        r"contributor|columnist|author|freelancer|blogger)\b)"
    ),
    max_chars=600,
    examples=("Kimber Streams is a writer who has been covering laptops at Wirecutter for more than a decade.",
              "Hi, I'm Ashley Biancuzzo, and I oversee all laptop coverage at PCWorld."),
    counter_examples=("The company is a leader in solar panels.",),
    leak_check=False,
)
BYLINE = Rule(
    id="byline",
    description="A byline ('By Jane Doe', 'Written by ...') at the top or bottom; moved to the author field.",
    pattern=_rx(r"^\W{0,3}(?:written\s+|reported\s+|posted\s+|words\s+)?by\s*:?\s+(?P<author>[A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3}"
                r"(?:\s+(?:and|&)\s+[A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3})?)\s*(?:[,|•–—-].{0,60})?$"),
    max_chars=100,
    examples=("By Jane Doe", "By John Smith and Maria Lopez | Reuters", "Written by Cassidy Horton"),
    counter_examples=("By Monday, the talks had collapsed.",),
    leak_check=False,
)

# A page rule: the whole title, not a line. Whole titles only, so a headline about an error survives.
_GONE = (r"(?:(?:(?:could|can|does|do|was|is)\s*(?:not|n?[’']t)|cannot)\s+(?:be\s+)?(?:found|located|exist)"
         r"|(?:is\s+|was\s+|has\s+been\s+)?(?:not\s+found|no\s+longer\s+(?:exists?|available)|unavailable))")
# A missing page's title in the other languages whose dates the cleaner reads (tasks/meta.py): "Seite
# nicht gefunden", "La page demandée est introuvable", "Fehler 404 - Página no encontrada", "Страница не
# найдена", "Aradığınız sayfa bulunamadı".
_PAGE_WORD = (r"(?:(?:die|diese|la|cette|esta|essa|questa|deze|de|a|эта)\s+)?"
              r"(?:(?:angeforderte|gesuchte|gevraagde|gezochte|aradığınız|запрашиваемая|запрошенная|искомая)\s+)?"
              r"(?:seite|page|p[áa]gina|pagina|страница|sayfa)"
              r"(?:\s+(?:demandée|recherchée|solicitada|buscada|procurada|richiesta|cercata"
              r"|que\s+(?:vous\s+)?(?:recherchez|cherchez|buscas|busca|procura|procuras)))?")
_MISSING = (r"(?:wurde\s+|konnte\s+|est\s+|ist\s+|è\s+|is\s+|kon\s+)?(?:nicht\s+gefunden(?:\s+werden)?|introuvable"
            r"|non\s+trouv[ée]e|n['’]a\s+pas\s+été\s+trouvée|n['’]existe\s+(?:pas|plus)"
            r"|no\s+(?:se\s+ha\s+|fue\s+)?(?:encontrad[ao]|existe)|n[ãa]o\s+(?:foi\s+)?(?:encontrada|existe)"
            r"|non\s+(?:è\s+stata\s+)?trovata|non\s+esiste|niet\s+(?:worden\s+)?gevonden|bestaat\s+niet"
            r"|existiert\s+nicht|не\s+найдена|не\s+существует|bulunamad[ıi]|mevcut\s+de[ğg]il)")
_ERROR_CODE = r"(?:(?:erreur|fehler|error|erro|errore|fout|hata|ошибка)\s*)?(?:40[034]|410|50[0234])"
_GONE_ELSEWHERE = (
    rf"{_ERROR_CODE}(?:\W+{_PAGE_WORD}\s+{_MISSING})?"
    rf"|(?:(?:oups|désolé|ups|huch|hoppla|vaya|lo\s+sentimos|ops|oeps|упс)\W+)?{_PAGE_WORD}\s+{_MISSING}")
ERROR_PAGE = Rule(
    id="error-page",
    description="A page whose whole title is an error, a login form or a robot check ('Page not found', "
    "'Something went wrong', 'Log in to your account', 'Just a moment...'; a missing page's also in French, "
    "German, Spanish, Portuguese, Italian, Dutch, Russian and Turkish) and whose markup states no date: no "
    "article. The page is quarantined with this rule's id and the title (`not_an_article`).",
    pattern=_rx(
        r"^\W*(?:(?:error\s*)?(?:40[034]|410|50[0234])(?:\s*error)?(?:\W+(?:page\s+)?(?:not\s+found|gone|"
        r"internal\s+server\s+error|bad\s+gateway|service\s+(?:temporarily\s+)?unavailable))?"
        r"|(?:(?:oops|sorry|whoops|uh[\s-]oh)\W+)?(?:(?:the|this|that)\s+)?(?:page|article|story|content|post|file)"
        r"(?:\s+you\s+(?:requested|are\s+looking\s+for|were\s+looking\s+for))?"
        rf"\s+{_GONE}"
        r"|(?:page\s+|file\s+)?not\s+found|something\s+went\s+wrong|(?:an\s+)?(?:unexpected\s+)?error\s+(?:has\s+)?occurred"
        r"|error\s+establishing\s+a\s+database\s+connection|internal\s+server\s+error|bad\s+gateway"
        r"|service\s+(?:temporarily\s+)?unavailable|(?:this\s+)?(?:page|article|story)\s+has\s+(?:been\s+)?"
        r"(?:moved|removed|deleted)|moved\s+permanently|(?:log|sign)\s*in(?:\s+to\s+(?:your\s+account|continue))?"
        r"|just\s+a\s+moment|attention\s+required|are\s+you\s+a\s+robot|(?:please\s+)?(?:verify|confirm)\s+"
        r"(?:that\s+)?you\s+are\s+(?:a\s+)?human"
        rf"|{_GONE_ELSEWHERE})(?:\W+{_ERROR_CODE})?\W*$"
    ),
    max_chars=80,
    examples=("Page not found", "404 Not Found", "Error 404", "Oops! That page can’t be found.",
              "The page you requested could not be found", "Sorry, this article is no longer available",
              "Something went wrong", "Error establishing a database connection", "503 Service Unavailable",
              "This article has moved", "Log in to your account", "Sign in", "Just a moment...",
              "Are you a robot?", "Seite nicht gefunden", "Fehler 404", "Oups ! Cette page est introuvable",
              "Page non trouvée", "Página no encontrada", "Página não encontrada", "Pagina non trovata",
              "Pagina niet gevonden", "Страница не найдена", "Sayfa bulunamadı", "Erreur 404",
              "Fehler 404 - Seite nicht gefunden", "Die Seite konnte nicht gefunden werden",
              "La page demandée est introuvable", "A página não foi encontrada", "Aradığınız sayfa bulunamadı",
              "404 - Страница не найдена", "La pagina non è stata trovata",
              "Lo sentimos, la página que buscas no existe", "Seite nicht gefunden - Fehler 404",
              "Page not found - Error 404", "Página no encontrada (404)"),
    counter_examples=("Missing hiker not found after three-day search", "Something went wrong at the Fed",
                      "Log in to vote: how the new ID rules work", "The page that could not be found: how "
                      "archives lose the web", "404 days in orbit", "Error rates fall at county hospitals",
                      "Die Seite, die nicht gefunden wurde: Archive verlieren das Netz", "Page blanche pour la ville",
                      "Página no encontrada: la web que se pierde", "Page not found - 404 days later"),
    leak_check=False,
)
PAGE_RULES: tuple[Rule, ...] = (ERROR_PAGE,)

LINE_RULES: tuple[Rule, ...] = (
    TEASER, DISCLAIMER, COMMENT_PROMPT, NAVIGATION, CALL_TO_ACTION, SOURCE_HEADING, COPYRIGHT, PAGE_META, CREDIT,
)
CONTEXT_RULES: tuple[Rule, ...] = (
    REPEATED_TITLE, SECTION_LABEL, OUTLET_LIST, STANDFIRST_DUPLICATE, BYLINE, LINK_LIST, REPEATED_LINE, DATELINE,
    AUTHOR_BIO, PROMO_OUTRO,
)
ALL_RULES: tuple[Rule, ...] = LINE_RULES + CONTEXT_RULES + PAGE_RULES


@lru_cache(maxsize=8192)
def match_line_rule(line: str) -> Rule | None:
    """The first line rule that matches the whole line (within its length limit), or None.

    Memoized: the leak check (`find_leak`) asks again about every line the cleaner kept, and pages of
    one site repeat their furniture lines."""
    lower = line.lower()
    for rule in LINE_RULES:
        if rule.matches(line, lower):
            return rule
    return None


def find_leak(body: str) -> tuple[Rule, str] | None:
    """The first body line (segments are joined with newlines) that a leak-checked line rule matches as
    a whole, with that rule; None when the body is clean. The validation suite rejects such a body:
    whatever a line rule matches should have been removed, so a match means the cleaner missed it.
    """
    for line in body.split("\n"):
        line = line.strip()
        if not line:
            continue
        rule = match_line_rule(line)  # the rule the cleaner would remove this line with
        if rule is not None and rule.leak_check:
            return rule, line
    return None
