"""The `articles` expectation suite: what a cleaned article must satisfy to be loaded.

Built in code so its thresholds come from newsflow.settings. The boilerplate check uses the same rule
table the cleaner uses (tasks/rules.py): a body that still contains a line a rule would remove means the
cleaner missed it, and the article is quarantined instead of loaded. That scan runs line by line in the
worker that cleaned the article (`tasks.rules.find_leak`, on `Article.analysis`) and arrives here as the
`boilerplate_left` column: as a regex list over whole bodies in the single writer it would cost more
than all other validation together (GX evaluates the condition once per result field).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from newsflow.settings import FUTURE_TOLERANCE_S, MIN_BODY_CHARS, TITLE_MAX_CHARS, TITLE_MIN_CHARS

SUITE_NAME = "articles"

# Schemes are case-insensitive (RFC 3986): HTTPS://host/ is an http(s) URL as https://host/ is.
URL_OR_PATH = r"^(?:(?i:https?)://[^\s/?#]+[^\s]*|file://[^\s]+)$"
HTTP_URL = r"^(?i:https?)://[^\s/?#]+[^\s]*$"


def build_suite() -> gx.ExpectationSuite:
    """The suite. It runs on the frame built by tasks.validate.articles_frame, where
    `published_age_s` is (validation time - published_at) in seconds, so 'not in the future' is a
    static bound, and `body_size` and `title_size` are lengths in characters, a character of a script
    written without spaces counted as three, a Korean syllable as two (`tasks.validate.text_size`)."""
    return gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="body"),
            gxe.ExpectColumnValuesToBeBetween(column="body_size", min_value=MIN_BODY_CHARS),
            gxe.ExpectColumnValuesToBeBetween(
                column="title_size", min_value=TITLE_MIN_CHARS, max_value=TITLE_MAX_CHARS
            ),
            gxe.ExpectColumnValuesToMatchRegex(column="source_uri", regex=URL_OR_PATH),
            gxe.ExpectColumnValuesToMatchRegex(column="url", regex=HTTP_URL),
            gxe.ExpectColumnValuesToBeBetween(column="published_age_s", min_value=-FUTURE_TOLERANCE_S),
            gxe.ExpectColumnValuesToBeUnique(column="article_id"),
            gxe.ExpectColumnValuesToBeNull(column="boilerplate_left"),
        ],
    )
