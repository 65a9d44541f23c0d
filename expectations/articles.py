"""The `articles` expectation suite: what a cleaned article must satisfy to be loaded.

Built in code so its thresholds come from newsflow.settings and its boilerplate checks from the same
rule table the cleaner uses (tasks/rules.py): a body that still contains a line a rule would remove
means the cleaner missed it, and the article is quarantined instead of loaded.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import great_expectations as gx
import great_expectations.expectations as gxe

from newsflow.settings import MIN_BODY_CHARS, TITLE_MAX_CHARS, TITLE_MIN_CHARS
from tasks.rules import leak_patterns

SUITE_NAME = "articles"
# Clock skew allowed between a publisher's timestamp and ours.
FUTURE_TOLERANCE = timedelta(hours=1)

URL_OR_PATH = r"^(?:https?://[^\s/?#]+[^\s]*|file://[^\s]+)$"
HTTP_URL = r"^https?://[^\s/?#]+[^\s]*$"


def build_suite(now: datetime | None = None) -> gx.ExpectationSuite:
    """The suite, with 'not in the future' evaluated against `now` (UTC)."""
    now = now or datetime.now(timezone.utc)
    return gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="body"),
            gxe.ExpectColumnValueLengthsToBeBetween(column="body", min_value=MIN_BODY_CHARS),
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="title", min_value=TITLE_MIN_CHARS, max_value=TITLE_MAX_CHARS
            ),
            gxe.ExpectColumnValuesToMatchRegex(column="source_uri", regex=URL_OR_PATH),
            gxe.ExpectColumnValuesToMatchRegex(column="url", regex=HTTP_URL),
            gxe.ExpectColumnValuesToBeBetween(
                column="published_ts", max_value=(now + FUTURE_TOLERANCE).timestamp()
            ),
            gxe.ExpectColumnValuesToBeUnique(column="article_id"),
            gxe.ExpectColumnValuesToNotMatchRegexList(column="body", regex_list=leak_patterns()),
        ],
    )
