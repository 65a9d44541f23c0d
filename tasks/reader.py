"""The text reader: plain-text files and JSON records to lines and fields, no HTML involved.

A plain-text article has no markup, so its title is read from its first lines later, by the segment
cleaner. A JSON record names its own fields; it may carry HTML instead of text, which goes to
`tasks/extract.py` like any page.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

# The record keys that map to Article fields; any other key is kept in Article.extra.
RECORD_FIELDS = frozenset({"url", "title", "text", "html", "published_at", "author"})


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 or UTF-32 with its BOM (as Windows editors save "Unicode"
    text); raises ValueError with a reason a person can act on."""
    # UTF-32's little-endian mark starts with UTF-16's: it is looked for first.
    for marks, encoding in (((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
                            ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16")):
        if raw.startswith(marks):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                raise ValueError(f"not valid {encoding.upper()} although it starts with a {encoding.upper()} "
                                 "byte-order mark; re-save the file as UTF-8") from None
    if b"\x00" in raw[:8192]:
        raise ValueError("binary content (NUL bytes), not a text article (UTF-16 text without a byte-order "
                         "mark reads so: re-save it as UTF-8)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None


# A terminal's escape sequence (ESC [ ... final byte, as text copied from a terminal holds), or a
# control character: stored, they garble the terminals, CSV exports and reports analysts read text in.
_ESCAPE = r"\x1b\[[0-?]*[ -/]*[@-~]"
_CONTROLS = re.compile(_ESCAPE + r"|[\x00-\x1f\x7f]")
_TEXT_CONTROLS = re.compile(_ESCAPE + r"|[\x00-\x08\x0e-\x1b\x1f\x7f]")  # not \t, nor what splitlines breaks at


def text_lines(text: str) -> list[str]:
    """The lines of a plain-text article, in order (blank ones included: they keep the positions),
    without escape sequences and control characters other than tabs."""
    return _TEXT_CONTROLS.sub("", text).splitlines()


_ONE_LINE = frozenset({"url", "title", "published_at", "author"})


def one_line(text: str) -> str:
    """`text` on one line without escape sequences or control characters: a NUL, a newline or a
    terminal's escape sequence in a title breaks the CSV exports and the terminals analysts read it in."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def _tidy(key: str, value: Any) -> Any:
    """A record's field as stored: the one-line fields `one_line`, NULs out of the text."""
    if not isinstance(value, str):
        return value
    if key in _ONE_LINE:
        return one_line(value)
    return value.replace("\x00", "")


def record_fields(raw: bytes, fields: dict[str, Any]) -> dict[str, Any]:
    """One JSON record over the fields the fetch already knew: its known non-empty keys win, the rest
    of the record goes to `extra`. Raises ValueError when neither 'text' nor 'html' is there."""
    record = json.loads(raw.decode("utf-8"))
    out = dict(fields)
    tidy = {k: _tidy(k, record.get(k)) for k in RECORD_FIELDS}
    out.update({k: v for k, v in tidy.items() if v not in (None, "")})
    out["extra"] = {k: v for k, v in record.items() if k not in RECORD_FIELDS}
    if "html" not in out and "text" not in out:
        raise ValueError("JSON record has neither 'text' nor 'html'")
    return out
