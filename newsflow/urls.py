"""One check for every URL newsflow may fetch: CLI arguments, config locations, feed and sitemap
entries and redirect targets all go through `check_url`.

It accepts what a browser would fetch, in one canonical spelling, and refuses the rest with a reason
an operator can act on: a scheme other than http(s), a port outside 1-65535, a host that is not a
domain name (IDNA, mapped as browsers do: `Bücher.de` -> `xn--bcher-kva.de`, fullwidth digits ->
ASCII), a bracketed IPv6 literal, or a dotted-decimal IPv4 address. IPv4 in other notations
(`0177.0.0.1`, `0x7f.1`, `2130706433`) is refused: resolvers read it differently from HTTP libraries,
the ambiguity SSRF tricks rely on. Whether the address is public is decided at connect time by
tasks/fetch.py, on the address actually used.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import idna

SCHEMES = ("http", "https")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# A last label that is a number (decimal, octal-looking or hex): the host is then an IPv4 address.
_NUMERIC = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class BadURL(ValueError):
    """A URL newsflow will not fetch; `reason` is one sentence for the quarantine table."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason}: {url[:300]!r}")
        self.url = url
        self.reason = reason


def check_url(url: str) -> str:
    """The URL with its scheme and host in canonical form (lower case, IDNA-encoded host); the path,
    query and fragment are kept as they are.

    Raises:
        BadURL: the scheme, host or port is not one newsflow fetches; `reason` says which and why.
    """
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise BadURL(str(url), "empty URL")
    if _CONTROL.search(text):
        raise BadURL(text, "URL contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # e.g. "Invalid IPv6 URL", "Port out of range 0-65535"
        raise BadURL(text, f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"'{scheme}:'" if scheme else "none"
        raise BadURL(text, f"only http and https URLs are fetched (scheme: {shown})")
    if port == 0:
        raise BadURL(text, "port 0 is not a port one can connect to (use 1-65535)")
    host = canonical_host(text, parts.hostname or "", bracketed="[" in parts.netloc)
    netloc = host if port is None else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def canonical_host(url: str, host: str, bracketed: bool = False) -> str:
    """The host as it goes on the wire; raises BadURL naming what is wrong with it."""
    if not host:
        raise BadURL(url, "no host in URL")
    if bracketed:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise BadURL(url, f"'[{host}]' is not an IPv6 address") from None
        return f"[{ip.compressed}]"
    try:
        ascii_host = host.encode("ascii").decode() if host.isascii() else idna.encode(
            host, uts46=True, std3_rules=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise BadURL(url, f"host '{host}' is not a valid international domain name ({exc})") from None
    ascii_host = ascii_host.lower().rstrip(".")
    labels = ascii_host.split(".")
    if _NUMERIC.match(labels[-1]):
        try:
            ip = ipaddress.IPv4Address(ascii_host)
        except ValueError:
            raise BadURL(url, f"host '{host}' is an IPv4 address in a non-standard notation (octal, hex, "
                              "shortened or out of range); write it as four decimal numbers, e.g. "
                              "192.0.2.1") from None
        return str(ip)
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise BadURL(url, f"host '{host}' is not a valid domain name (letters, digits and hyphens in "
                          "dot-separated labels of 1 to 63 characters)")
    return ascii_host


# Query parameters that only tag a link for analytics (campaign tags, ad-click ids, newsletter ids):
# the page is the same without them. Feeds add them to every link (`?utm_source=rss&utm_campaign=...`),
# so one page listed by two feeds looked like two. Only names used for nothing else are here: a
# parameter that may pick the content (`id`, `ref`, `source`, `page`) is never dropped.
TRACKING_PREFIXES = ("utm_",)
TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "_ga", "_gl",
})


def without_tracking(url: str) -> str:
    """`url` without its tracking parameters (TRACKING_NAMES, names starting with TRACKING_PREFIXES,
    in any case); the other parameters are kept as written and in their order."""
    head, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_mark, fragment = rest.partition("#")
    kept = [part for part in query.split("&") if not _tracking(part.partition("=")[0])]
    return head + ("?" + "&".join(kept) if kept else "") + hash_mark + fragment


def _tracking(name: str) -> bool:
    name = unquote_plus(name).lower()
    return name in TRACKING_NAMES or name.startswith(TRACKING_PREFIXES)
