"""The rule table: every rule's examples are removed, counter-examples kept, wording variants generalize."""

from __future__ import annotations


import pytest

from tasks import rules as R
from tasks.clean import clean_segments

LINE_EXAMPLES = [(r.id, e) for r in R.LINE_RULES for e in r.examples]
LINE_COUNTERS = [(r.id, e) for r in R.ALL_RULES for e in r.counter_examples]


@pytest.mark.parametrize(("rule_id", "line"), LINE_EXAMPLES)
def test_line_rule_examples_are_removed(rule_id: str, line: str) -> None:
    rule = R.match_line_rule(line)
    assert rule is not None and rule.id == rule_id


@pytest.mark.parametrize(("rule_id", "line"), LINE_COUNTERS)
def test_counter_examples_survive(rule_id: str, line: str) -> None:
    assert R.match_line_rule(line) is None


@pytest.mark.parametrize(("rule", "title"), [(r, e) for r in R.PAGE_RULES for e in r.examples])
def test_page_rule_examples_match_the_whole_title(rule: R.Rule, title: str) -> None:
    assert rule.matches(title)


@pytest.mark.parametrize(("rule", "title"), [(r, e) for r in R.PAGE_RULES for e in r.counter_examples])
def test_page_rule_counter_examples_are_headlines(rule: R.Rule, title: str) -> None:
    assert not rule.matches(title)


def test_every_rule_is_documented() -> None:
    ids = [r.id for r in R.ALL_RULES]
    assert len(ids) == len(set(ids))
    for rule in R.ALL_RULES:
        assert rule.description and rule.examples, rule.id


@pytest.mark.parametrize(
    "line",
    ["Also read", "ALSO READ | Markets slide as oil jumps", "Read more: the full interview", "Related:",
     "related stories", "» Read More", "You might also like", "Lesen Sie auch: Neue Regeln für Mieter"],
)
def test_teaser_wording_variants(line: str) -> None:
    assert R.match_line_rule(line) is R.TEASER


@pytest.mark.parametrize(
    "line",
    ["This article is for informational purposes only and is not financial advice.",
     "The opinions expressed here do not necessarily reflect the views of the publisher.",
     "We may earn a commission when you buy through links on our site."],
)
def test_disclaimer_wording_variants(line: str) -> None:
    assert R.match_line_rule(line) is R.DISCLAIMER


@pytest.mark.parametrize(
    "sentence",
    ["He said he would also read the report before the vote.",
     "Read more carefully, the statement suggests a shift in policy.",
     "Related talks in Geneva ended without a deal on Friday, officials said.",
     "Comments by the minister drew criticism from the opposition.",
     "Sign-ups for the scheme doubled in March, the agency said in a statement on its website."],
)
def test_real_sentences_survive_the_segment_pass(sentence: str) -> None:
    body = ["The council met on Monday to discuss the budget for next year.", sentence,
            "The vote is expected next week, a spokesperson said."]
    cleaned = clean_segments(body, "Budget talks", detect_title=False)
    assert sentence in cleaned.segments
    assert cleaned.removed == []


def test_title_repeated_with_different_spacing_and_case_is_removed() -> None:
    title = "Kim Jong Un to Visit Vladimir Putin for Weapons Talks"
    body = ["KIM  JONG UN to visit Vladimir Putin — for weapons talks", "North Korean leader Kim Jong Un is "
            "reportedly planning to travel to Russia for a meeting with President Vladimir Putin."]
    cleaned = clean_segments(body, title, detect_title=False)
    assert [r.rule for r in cleaned.removed] == [R.REPEATED_TITLE.id]
    assert cleaned.segments == body[1:]


def test_link_lines_are_removed_in_runs_under_a_teaser_not_mid_story() -> None:
    links = frozenset({"farmers count losses after spring floods", "river levels hit a ten year high",
                       "a linked phrase"})
    body = ["The first paragraph of the story is long enough to be prose and has a full stop.",
            "The second paragraph adds the background that readers need to follow it.",
            "A linked phrase",
            "Another paragraph of the story, which keeps going with more detail for readers.",
            "The last paragraph of the story ends here, as stories do, with a quote.",
            "Related Stories", "Farmers count losses after spring floods", "River levels hit a ten-year high"]
    cleaned = clean_segments(body, "Floods", detect_title=False, link_texts=links)
    assert "A linked phrase" in cleaned.segments  # a lone link inside the story stays
    assert {r.text: r.rule for r in cleaned.removed} == {
        "Related Stories": "teaser",
        "Farmers count losses after spring floods": "link-list",
        "River levels hit a ten-year high": "link-list",
    }


def test_leak_check_flags_what_the_rules_remove() -> None:
    leaked = "Story text.\nAlso Read: Markets rally\nMore story text."
    clean = "Story text.\nHe said he would also read the report.\nMore story text."
    rule, line = R.find_leak(leaked)
    assert (rule.id, line) == ("teaser", "Also Read: Markets rally")
    assert R.find_leak(clean) is None


def test_leak_check_never_spans_lines() -> None:
    # Each line alone is prose; joined, a newline must not let "Credit:" reach the next line.
    body = "The panel's verdict is due on Friday.\nCredit:\n\nLG / Reviewed\nThe rest of the review follows here."
    assert R.match_line_rule("Credit:") is None
    assert R.find_leak(body) is None


def test_leak_check_covers_every_line_rule() -> None:
    """Every line rule's own examples, hidden mid-body, are found (with that rule or an earlier one)."""
    for rule in (r for r in R.LINE_RULES if r.leak_check):
        for example in rule.examples:
            found = R.find_leak(f"Opening paragraph of the story.\n\n{example}\n\nClosing paragraph.")
            assert found is not None and found[1] == example.strip(), (rule.id, example)


def test_keyword_prefilter_changes_no_result() -> None:
    """The keyword pre-filter and the lower-cased search (`Rule.lowered`) find what each pattern finds."""
    assert R.DISCLAIMER.lowered is not None  # the lower-cased search is in use
    assert R.CALL_TO_ACTION.lowered is None  # its `(?-i:[A-Z])` needs the line's own case
    lines = [e for r in R.ALL_RULES for e in r.examples + r.counter_examples]
    lines += [variant for line in lines for variant in (line.upper(), line.title())]
    for line in lines:
        slow = next((r for r in R.LINE_RULES if len(line) <= r.max_chars and r.pattern.search(line)), None)
        assert R.match_line_rule(line) is slow, line
