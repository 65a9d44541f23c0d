"""The sources config (newsflow.toml): what to ingest, from where, how often, within which limits.

Loaded once at the entry point (`newsflow ingest --source`, `newsflow serve`) and passed down as plain
values. Invalid config raises ConfigError with a message naming the source and the field.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from newsflow import settings
from newsflow.settings import FetchPolicy, Settings
from newsflow.urls import BadURL, canonical_host, check_url

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 10
# The [settings] paths resolved against the config file's folder rather than the current one.
FILE_RELATIVE_SETTINGS = ("db", "warehouse", "archive_dir", "fetch_hosts_dir", "lake_data_path")
CRON_YEARS = 8  # a cron that fires on no day within this many years never fires (Feb 29 recurs every 4 or 8)
SETTINGS_NOT_A_TABLE = "[settings] must be a table: a [settings] line, then one `name = value` line per setting"


class ConfigError(ValueError):
    """newsflow.toml is missing, unreadable or invalid; the message says where and what."""


def parse_interval(value: str | int | float) -> float:
    """Seconds from 90, "90s", "15m", "1h" or "1d"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = _INTERVAL.match(str(value))
        if not m:
            raise ValueError(f"'{value}' is not an interval; write seconds or e.g. '15m', '1h', '1d'")
        seconds = float(m.group(1)) * _UNIT_SECONDS[(m.group(2) or "").lower() or None]
    if not math.isfinite(seconds):
        raise ValueError(f"'{value}' is not an interval; write seconds or e.g. '15m', '1h', '1d'")
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(f"interval must be at least {MIN_INTERVAL_SECONDS} s")
    if seconds > settings.YEAR_S:
        raise ValueError(f"interval must be at most a year ('{settings.YEAR_S / settings.DAY_S:g}d'); a source "
                         "run more rarely is run by hand (no interval)")
    return seconds


class Limits(BaseModel):
    """Per-source limits. `language` keeps only articles detected in that language (ISO 639-1);
    `since` / `until` keep the pages of a web archive (`warc` source) received in that range (UTC
    dates or times, `until` excluded)."""

    model_config = ConfigDict(extra="forbid")
    max_items: int = Field(settings.DEFAULT_MAX_ITEMS, gt=0)
    allowed_domains: list[str] = Field(default_factory=list)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    since: datetime | date | None = None
    until: datetime | date | None = None

    @field_validator("allowed_domains")
    @classmethod
    def _domain_names(cls, value: list[str]) -> list[str]:
        """Host names in canonical form (as newsflow.urls writes the URLs they are matched against); a
        URL or host:port would match no item, so that every item were skipped unsaid."""
        hosts = []
        for domain in value:
            if re.search(r"[/:@?#]", domain):
                host = urlsplit(domain if "//" in domain else f"//{domain}").hostname or "news.example"
                raise ValueError(f"'{domain}' is not a domain name: give the host only, e.g. '{host}' "
                                 "(its subdomains are allowed too)")
            try:
                hosts.append(canonical_host(domain, domain.strip().lstrip(".")))
            except BadURL as exc:
                raise ValueError(exc.reason) from None
        return hosts

    @field_validator("since", "until", mode="before")
    @classmethod
    def _a_date_not_a_number(cls, value: object) -> object:
        """A TOML date or time, or ISO 8601 text; a number would be read as a Unix timestamp, so that
        `since = 2026` (the year) would mean 1970 and keep every page."""
        if value is None or isinstance(value, date):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.strip())
        raise ValueError(f"{value!r} is not a date or time; write it as 2026-11-01 or 2026-11-01T06:00:00Z "
                         "(UTC unless it has an offset such as +02:00)")

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Limits:
        since, until = utc_instant(self.since), utc_instant(self.until)
        if since and until and since >= until:
            raise ValueError("since must be before until")
        return self


def utc_instant(value: datetime | date | None) -> datetime | None:
    """A config date or time as an aware UTC datetime (a date is its midnight; naive times are UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Source(BaseModel):
    """One [[sources]] entry."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: Literal["files", "warc", "urls", "feed", "sitemap", "opml"]
    location: str | None = None
    locations: list[str] = Field(default_factory=list)
    cron: str | None = None
    interval: str | int | float | None = None
    limits: Limits = Field(default_factory=Limits)

    @field_validator("cron")
    @classmethod
    def _cron_is_valid(cls, value: str | None) -> str | None:
        if value is not None:
            from croniter import CroniterBadDateError, croniter
            from prefect.client.schemas.schedules import CronSchedule

            try:
                CronSchedule(cron=value)
            except ValidationError:
                raise ValueError(f"'{value}' is not a cron expression (e.g. '*/30 * * * *')") from None
            if not value.strip().startswith("@") and len(value.split()) != 5:
                raise ValueError(f"'{value}' has {len(value.split())} fields; a cron expression has 5 (minute, hour, "
                                 "day of month, month, day of week), e.g. '*/30 * * * *'")
            try:
                croniter(value, datetime.now(timezone.utc), max_years_between_matches=CRON_YEARS).get_next(datetime)
            except CroniterBadDateError:
                raise ValueError(f"'{value}' never fires (no such date within {CRON_YEARS} years, e.g. "
                                 "February 30)") from None
        return value

    @field_validator("interval")
    @classmethod
    def _interval_is_valid(cls, value: str | int | float | None) -> str | int | float | None:
        if value is not None:
            parse_interval(value)
        return value

    @model_validator(mode="after")
    def _one_location_form(self) -> Source:
        if self.location and self.locations:
            raise ValueError("give either location or locations, not both")
        if self.location:
            self.locations = [self.location]
            self.location = None
        if not self.locations:
            raise ValueError("location (or locations) is required")
        if not all(loc.strip() for loc in self.locations):
            raise ValueError("an empty location names nothing; give a path, folder, glob or URL ('.' for the "
                             "config file's folder)")
        if self.cron and self.interval is not None:
            raise ValueError("give either cron or interval, not both")
        if self.kind in ("files", "warc"):
            if fetched := next((loc for loc in self.locations if is_url(loc)), None):
                raise ValueError(f"'{fetched}' is a URL, and kind '{self.kind}' reads local paths; for pages, feeds "
                                 "or sitemaps on the web use kind 'urls', 'feed' or 'sitemap'")
        else:
            for loc in self.locations:
                if self.kind == "opml" and not is_url(loc):
                    continue  # an OPML file beside the config
                try:
                    check_url(loc)
                except BadURL as exc:
                    raise ValueError(f"'{loc}' is not an http(s) URL newsflow can fetch: {exc.reason} "
                                     f"(kind '{self.kind}' fetches URLs)") from None
        return self

    @property
    def interval_seconds(self) -> float | None:
        return None if self.interval is None else parse_interval(self.interval)

    @property
    def schedule_text(self) -> str:
        if self.cron:
            return f"cron {self.cron}"
        if self.interval is not None:
            return f"every {self.interval_seconds:g} s"
        return "manual only"


class FetchSettings(BaseModel):
    """The [fetch] table: network manners and the SSRF switch."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    allow_private_networks: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    user_agent: str = settings.USER_AGENT
    min_host_interval: float = Field(settings.FETCH_MIN_HOST_INTERVAL, ge=0, le=settings.DAY_S)
    deadline: float = Field(settings.FETCH_DEADLINE, gt=0, le=settings.DAY_S)
    respect_robots: bool = True

    @field_validator("user_agent")
    @classmethod
    def _a_header_value(cls, value: str) -> str:
        """Printable ASCII, as an HTTP header is sent: a newline or a non-ASCII letter failed every
        request before it left, each retried as a connection failure."""
        if bad := re.search(r"[^\x20-\x7e]", value):
            raise ValueError(f"{bad.group()!r} (character {bad.start() + 1}) cannot go in an HTTP header; write "
                             "the user agent in printable ASCII on one line, e.g. "
                             "'newsflow/0.1 (+mailto:ops@example.org)'")
        return value


class Config(BaseModel):
    """The whole file: [fetch] settings and the [[sources]] list."""

    model_config = ConfigDict(extra="forbid")
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    settings: dict[str, Any] = Field(default_factory=dict)  # checked by resolve_settings
    sources: list[Source] = Field(default_factory=list)
    path: Path | None = None

    @field_validator("settings", mode="before")
    @classmethod
    def _a_table(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError(SETTINGS_NOT_A_TABLE)
        return value

    @field_validator("settings")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(Settings.model_fields))
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(Settings.model_fields)}")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        names = [s.name for s in self.sources]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"source name '{name}' is used twice; names must be unique")
        return self

    def source(self, name: str) -> Source:
        """The source called `name`; ConfigError listing the known names otherwise."""
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named '{name}' (known: {known})")

    def resolve_location(self, location: str) -> str:
        """File locations are relative to the config file's folder; URLs are returned as they are."""
        if urlsplit(location).scheme in ("http", "https") or self.path is None:
            return location
        path = Path(location).expanduser()
        return str(path if path.is_absolute() else self.path.parent / path)

    def fetch_policy(self, s: Settings) -> FetchPolicy:
        """The FetchPolicy for this config; Settings.allow_private_networks, when set, overrides the file."""
        f = self.fetch
        policy = FetchPolicy(user_agent=f.user_agent, min_host_interval=f.min_host_interval,
                             deadline=f.deadline, respect_robots=f.respect_robots,
                             allow_private_networks=f.allow_private_networks,
                             allowed_hosts=tuple(f.allowed_hosts), **_crawl_settings(s))
        if s.allow_private_networks is None:
            return policy
        return replace(policy, allow_private_networks=s.allow_private_networks)


def default_fetch_policy(s: Settings) -> FetchPolicy:
    """The policy when no config file applies: the settings alone."""
    return FetchPolicy(allow_private_networks=bool(s.allow_private_networks), **_crawl_settings(s))


def _crawl_settings(s: Settings) -> dict[str, Any]:
    return dict(max_bytes=s.max_document_bytes, max_connections=s.fetch_connections,
                host_connections=s.fetch_host_connections, hosts_dir=str(s.hosts_dir),
                retry_backoff=s.fetch_retry_backoff)


def resolve_settings(**flags: Any) -> Settings:
    """The Settings of one run: newsflow.toml's [settings] table, then NEWSFLOW_* variables, then
    `flags` (those that are None are not given). Call it once, at the entry point.

    Raises:
        ConfigError: a value is invalid, or the [settings] table names an unknown setting.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    file = table = None
    try:
        first = Settings(**given)  # flags, then the environment: which config file?
        file = settings.config_path(first.config)
        table = _settings_table(file)
        layers = (given, {k: getattr(first, k) for k in first.model_fields_set - set(given)}, table)
        values = {**table, **{k: getattr(first, k) for k in first.model_fields_set}}
        return Settings(**_one_warehouse_file(values, layers, file))
    except ValidationError as exc:
        problems = "; ".join(_invalid(e, given, file, table) for e in exc.errors())
        raise ConfigError(f"invalid setting: {problems}. Mend it where it is given; `newsflow settings` then "
                          "shows every setting and what it does") from None


FLAG_NAMES = {"lake_snapshot_retention": "--retention-hours"}  # flags not named after their setting


def _invalid(error: dict, given: dict[str, Any], file: Path | None, table: dict[str, Any] | None) -> str:
    """One invalid value, with where it was given: a flag, a NEWSFLOW_* variable or the [settings]
    table of a config file (the highest layer that holds it)."""
    name = ".".join(map(str, error["loc"]))
    variable = f"NEWSFLOW_{name.upper()}"
    if name in given:
        where = f"flag {FLAG_NAMES.get(name, '--' + name.replace('_', '-'))}"
    elif name and variable in os.environ:
        where = f"environment variable {variable}"
    elif name and table is not None and name in table:
        where = f"[settings] in {file}"
    else:
        where = None
    value = error.get("input")
    if where and isinstance(value, (str, int, float, bool)):  # a catalog's password never shown
        where += f": {settings.masked(value)[:60]!r}" if isinstance(value, str) else f": {value!r}"
    return f"{name or 'settings'}: {error['msg']}" + (f" ({where})" if where else "")


def _one_warehouse_file(values: dict[str, Any], layers: tuple[dict, dict, dict], file: Path) -> dict[str, Any]:
    """`values` with the warehouse file named once: `db` and a `warehouse` path both name it, and the
    one from the higher layer (flags, then the environment, then the file) wins, so an explicit --db is
    never passed over for a path in NEWSFLOW_WAREHOUSE. Both in one layer must name the same file.

    Raises:
        ConfigError: one layer names two different files.
    """
    def path(layer: dict, key: str) -> Path | None:
        value = layer.get(key)
        if not isinstance(value, (str, Path)) or not str(value).strip() or settings.is_lake_url(str(value)):
            return None
        return settings.db_path(value)

    names = (("", "--db", "--warehouse"), ("", "NEWSFLOW_DB", "NEWSFLOW_WAREHOUSE"),
             (f"{file}: [settings] ", "db", "warehouse"))
    for layer, (where, db_name, warehouse_name) in zip(layers, names):
        db, warehouse = path(layer, "db"), path(layer, "warehouse")
        if db and warehouse and db != warehouse:
            raise ConfigError(f"{where}{db_name} {db} and {warehouse_name} {warehouse} name two different "
                              f"warehouse files: drop {warehouse_name} (a DuckDB file needs only {db_name})")
        if db:
            return {**values, "warehouse": None} if path(values, "warehouse") else values
        if warehouse:
            return values
    return values


def _settings_table(file: Path) -> dict[str, Any]:
    raw = _read_toml(file)
    table = (raw or {}).get("settings", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: {SETTINGS_NOT_A_TABLE}")
    unknown = sorted(set(table) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"{file}: [settings]: unknown setting(s) {', '.join(unknown)}")
    return {k: _beside(file, v) if k in FILE_RELATIVE_SETTINGS else v for k, v in table.items()}


def _beside(file: Path, value: object) -> object:
    """A relative path of the [settings] table made relative to the config file's folder, as source
    locations are (a trailing "/" kept); URLs, lake catalogs and blanks as they are."""
    if not isinstance(value, str) or not value.strip() or is_url(value) or settings.is_lake_url(value):
        return value
    path = os.path.expanduser(value)
    return path if os.path.isabs(path) else os.path.join(file.parent, path)


def _describe(raw: dict, loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        entries = raw.get("sources") or []
        entry = entries[loc[1]] if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else {}
        who = f"source '{entry.get('name')}'" if entry.get("name") else f"source #{loc[1] + 1}"
        field = ".".join(str(p) for p in loc[2:])
        return f"{who}, field '{field}'" if field else who
    return "field '" + ".".join(str(p) for p in loc) + "'"


def parse_config(raw: dict, path: Path | None = None) -> Config:
    """Validate a parsed TOML document.

    Raises:
        ConfigError: one line per problem, each naming the source and field.
    """
    try:
        return Config.model_validate({**raw, "path": path})
    except ValidationError as exc:
        where = str(path) if path else "config"
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see the comments in newsflow.toml)"
            elif err["type"] == "missing":
                msg = "required"
            lines.append(f"{where}: {_describe(raw, tuple(err['loc']))}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path | None = None) -> Config:
    """Read newsflow.toml (see settings.config_path for where it is looked for).

    Raises:
        ConfigError: the file is missing, not TOML, or invalid.
    """
    file = settings.config_path(path)
    raw = _read_toml(file)
    if raw is None:
        raise ConfigError(f"{file}: no such config file (pass --config or set NEWSFLOW_CONFIG)")
    return parse_config(raw, file)


def _read_toml(file: Path) -> dict[str, Any] | None:
    """The parsed config file; None when there is no such file.

    Raises:
        ConfigError: it cannot be read (a folder, no permission), is not UTF-8, or is not TOML.
    """
    if file.exists() and not (file.is_file() or file.is_dir()):
        raise ConfigError(f"{file}: not a file (a pipe, as `--config <(...)` gives, can be read once; newsflow "
                          "reads its config more than once, also in the runs `serve` starts): write it to a file")
    try:
        return tomllib.loads(file.read_text(encoding="utf-8-sig"))  # a BOM, as some editors write, is no error
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (a TOML file is UTF-8): byte {exc.start:,} is "
                          f"{exc.object[exc.start:exc.start + 1]!r}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class RunPlan:
    """What one ingest run reads: local paths and/or URLs, and how to treat the URLs.

    `kind` is "auto" for URLs given on the command line: each response says whether it is a page,
    a feed or a sitemap.
    """

    name: str
    configured: bool = False  # a source of newsflow.toml: a glob of it matching no file yet is no error
    paths: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    kind: str = "auto"
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    max_items: int = settings.DEFAULT_MAX_ITEMS
    allowed_domains: tuple[str, ...] = ()
    language: str | None = None
    opml_files: tuple[str, ...] = ()  # kind "opml": local OPML files whose feeds are fetched
    since: datetime | None = None  # web archives: the WARC-Date range kept
    until: datetime | None = None


def is_url(text: str) -> bool:
    """True for anything with a URL scheme other than a Windows drive letter (file: included)."""
    scheme = urlsplit(text).scheme
    return len(scheme) > 1


def plan_run(s: Settings, sources: list[str] | None = None, source: str | None = None) -> RunPlan:
    """Resolve what to ingest: a configured source by name, or paths and URLs from the command line.

    Raises:
        ConfigError: the config is invalid or has no such source, or both a source and SOURCES are given.
    """
    if source and sources:
        raise ConfigError(f"give SOURCES or --source, not both: --source {source} reads the locations its "
                          f"newsflow.toml entry lists, and would pass over {', '.join(map(str, sources))}")
    if source:
        cfg = load_config(s.config)
        spec = cfg.source(source)
        where = tuple(cfg.resolve_location(loc) for loc in spec.locations)
        common = dict(name=spec.name, configured=True, policy=cfg.fetch_policy(s), max_items=spec.limits.max_items,
                      allowed_domains=tuple(spec.limits.allowed_domains), language=spec.limits.language,
                      since=utc_instant(spec.limits.since), until=utc_instant(spec.limits.until))
        if spec.kind in ("files", "warc"):
            return RunPlan(paths=where, **common)
        if spec.kind == "opml":
            return RunPlan(urls=tuple(w for w in where if is_url(w)),
                           opml_files=tuple(w for w in where if not is_url(w)), kind="opml", **common)
        return RunPlan(urls=where, kind=spec.kind, **common)
    given = [str(s) for s in (sources or [settings.SAMPLES_DIR])]
    urls = tuple(s for s in given if is_url(s))
    file = settings.config_path(s.config)  # the file the settings came from: its [fetch] table applies too
    policy = load_config(file).fetch_policy(s) if s.config or (urls and file.is_file()) else default_fetch_policy(s)
    return RunPlan(name="cli", paths=tuple(s for s in given if not is_url(s)), urls=urls, policy=policy)
