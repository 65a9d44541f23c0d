"""newsflow.toml: the shipped file is valid, and every kind of mistake names the source and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsflow.config import ConfigError, load_config, parse_config, parse_interval, resolve_settings
from newsflow.settings import DEFAULT_DB, REPO_ROOT, SAMPLES_DIR, Settings


def test_shipped_config_has_the_samples_as_a_files_source():
    config = load_config(REPO_ROOT / "newsflow.toml")
    samples = config.source("samples")
    assert samples.kind == "files" and samples.interval_seconds == 3600
    assert Path(config.resolve_location(samples.locations[0])) == SAMPLES_DIR
    assert config.fetch_policy(Settings()).allow_private_networks is False


def good(**changes) -> dict:
    return {"sources": [{"name": "wire", "kind": "feed", "location": "https://news.example/rss",
                         "cron": "*/15 * * * *", **changes}]}


@pytest.mark.parametrize("changes, message", [
    ({"kind": "podcast"}, "source 'wire', field 'kind'"),
    ({"cron": "every day"}, "source 'wire', field 'cron': 'every day' is not a cron expression"),
    ({"cron": None, "interval": "soon"}, "source 'wire', field 'interval': 'soon' is not an interval"),
    ({"cron": None, "interval": float("nan")}, "field 'interval': 'nan' is not an interval"),
    ({"cron": None, "interval": float("inf")}, "field 'interval': 'inf' is not an interval"),
    ({"cron": None, "interval": "99999999999999d"}, "field 'interval': interval must be at most a year ('366d')"),
    ({"cron": "0 * * * * *"}, "field 'cron': '0 * * * * *' has 6 fields; a cron expression has 5"),
    ({"kind": "files"}, "'https://news.example/rss' is a URL, and kind 'files' reads local paths; for pages, feeds "
                        "or sitemaps on the web use kind 'urls', 'feed' or 'sitemap'"),
    ({"cron": "0 0 30 2 *"}, "field 'cron': '0 0 30 2 *' never fires"),
    ({"interval": "1h"}, "source 'wire': give either cron or interval, not both"),
    ({"location": "file:///etc/passwd"}, "source 'wire': 'file:///etc/passwd' is not an http(s) URL"),
    ({"location": None}, "source 'wire': location (or locations) is required"),
    ({"location": None, "locations": [""]}, "source 'wire': an empty location names nothing"),
    ({"location": " "}, "source 'wire': an empty location names nothing"),
    ({"limits": {"max_items": 0}}, "source 'wire', field 'limits.max_items'"),
    ({"limits": {"language": "English"}}, "source 'wire', field 'limits.language'"),
    ({"limits": {"allowed_domains": ["http://127.0.0.6:8856/"]}},
     "field 'limits.allowed_domains': 'http://127.0.0.6:8856/' is not a domain name: give the host only, "
     "e.g. '127.0.0.6'"),
    ({"limits": {"allowed_domains": ["apnews.com:443"]}}, "give the host only, e.g. 'apnews.com'"),
    ({"limits": {"allowed_domains": ["ap news.com"]}}, "host 'ap news.com' is not a valid domain name"),
    ({"limits": {"since": 2026}}, "field 'limits.since': 2026 is not a date or time; write it as 2026-11-01"),
    ({"limits": {"until": "2026"}}, "field 'limits.until': '2026' is not a date or time"),
    ({"limts": {}}, "source 'wire', field 'limts': unknown field"),
    ({"name": "Has Spaces"}, "source 'Has Spaces', field 'name'"),
])
def test_invalid_config_names_source_and_field(changes, message):
    raw = good(**changes)
    raw["sources"][0] = {k: v for k, v in raw["sources"][0].items() if v is not None}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, Path("/etc/newsflow.toml"))
    assert message in str(err.value)
    assert str(err.value).startswith("/etc/newsflow.toml: ")


def test_unnamed_source_and_duplicates():
    with pytest.raises(ConfigError, match=r"source #1, field 'name': required"):
        parse_config({"sources": [{"kind": "files", "location": "x"}]})
    with pytest.raises(ConfigError, match="source name 'a' is used twice"):
        parse_config({"sources": [{"name": "a", "kind": "files", "location": "x"}] * 2})


def test_unknown_source_lists_known_ones():
    with pytest.raises(ConfigError, match=r"no source named 'nope' \(known: wire\)"):
        parse_config(good()).source("nope")


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sources]\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_a_config_file_saved_with_a_byte_order_mark_is_read(tmp_path, monkeypatch):
    """Notepad and other editors save UTF-8 with a BOM: the file was "not valid TOML: Invalid
    statement (at line 1, column 1)", the BOM named nowhere."""
    path = tmp_path / "newsflow.toml"
    path.write_bytes(b'\xef\xbb\xbf[settings]\nbatch_size = 50\n\n[[sources]]\nname = "wire"\nkind = "feed"\n'
                     b'location = "https://news.example/rss"\n')
    assert [s.name for s in load_config(path).sources] == ["wire"]
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(path))
    assert resolve_settings().batch_size == 50


def test_a_config_given_as_a_pipe_is_refused_with_what_to_do(tmp_path):
    """`--config <(...)`: `settings` showed the defaults (the path resolved to /proc/<pid>/fd/pipe:[n]);
    `ingest` said "/proc/<pid>/fd/pipe:[n]: no such config file"."""
    import subprocess
    import sys

    program = ("from typer.testing import CliRunner\nfrom newsflow.cli import app\nimport sys\n"
               "r = CliRunner().invoke(app, sys.argv[1:])\nprint(r.output)\nsys.exit(r.exit_code)")
    for command in ("settings", "ingest --source s"):
        proc = subprocess.run(["bash", "-c", f'"$0" -c "$1" {command} --config <(printf "[settings]\\nbatch_size = 7\\n")',
                               sys.executable, program], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert re.search(r"/dev/fd/\d+: not a file \(a pipe, as `--config <\(\.\.\.\)` gives", proc.stdout), proc.stdout


def test_a_config_file_that_cannot_be_read_as_text_is_a_config_error(tmp_path, monkeypatch):
    """Both readers of the file (the sources, the [settings] table) raised UnicodeDecodeError or
    IsADirectoryError, which the CLI showed as a traceback."""
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('[settings]\n# caf\u00e9\n'.encode("latin-1"))
    said = {latin: f"{latin}: not UTF-8 text (a TOML file is UTF-8): byte 16 is b'\\xe9'",
            tmp_path: f"{tmp_path}: cannot read the config file: Is a directory"}
    for path, message in said.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(path)
        monkeypatch.setenv("NEWSFLOW_CONFIG", str(path))
        with pytest.raises(ConfigError, match=re.escape(message)):
            resolve_settings()



@pytest.mark.parametrize("name, value, says", [
    ("DOCUMENT_TIME_LIMIT", "inf", "a finite number"),
    ("DOCUMENT_TIME_LIMIT", "1e300", "less than or equal to 86400"),
    ("WAREHOUSE_WAIT", "nan", "a finite number"),
    ("FETCH_RETRY_BACKOFF", "1e999", "a finite number"),
    ("LAKE_MAINTAIN_INTERVAL", "1e20", "less than or equal to 31622400"),  # a year
    ("LAKE_SNAPSHOT_RETENTION", "1e20", "less than or equal to 878400"),  # a century, in hours
    ("DOCUMENT_MEMORY_LIMIT", "9" * 23, "less than or equal to 1125899906842624"),  # 1 PiB
    ("BATCH_SIZE", "4000000", "less than or equal to 10000"),  # every document of a backfill held at once
])
def test_a_limit_past_any_clock_or_memory_is_a_setting_error(monkeypatch, name: str, value: str, says: str):
    """An infinite or enormous duration was accepted, then overflowed the clock it was added to
    (`newsflow extract` with NEWSFLOW_DOCUMENT_TIME_LIMIT=inf: an OverflowError traceback); an
    enormous memory cap overflowed the kernel's limit the same way."""
    monkeypatch.setenv(f"NEWSFLOW_{name}", value)
    with pytest.raises(ConfigError, match=f"{name.lower()}: Input should be {says}"):
        resolve_settings()


def test_a_warehouse_memory_limit_past_any_machine_is_a_setting_error(monkeypatch):
    """NEWSFLOW_WAREHOUSE_MEMORY_LIMIT=9999999999TB overflowed DuckDB's limit to 0 bytes: every run failed
    out of memory after making its working file."""
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE_MEMORY_LIMIT", "9999999999TB")
    with pytest.raises(ConfigError, match="warehouse_memory_limit: Value error, '9999999999TB' is more memory"):
        resolve_settings()
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE_MEMORY_LIMIT", "1024TiB")
    assert resolve_settings().warehouse_memory_limit == "1024TiB"


@pytest.mark.parametrize("line, says", [("deadline = inf", "finite number"),
                                        ("deadline = 1e300", "less than or equal to 86400"),
                                        ("min_host_interval = nan", "finite number")])
def test_a_fetch_duration_past_any_clock_is_a_config_error(tmp_path, line: str, says: str):
    """`deadline = 1e300` quarantined every URL with "OverflowError: timestamp out of range"."""
    path = tmp_path / "newsflow.toml"
    path.write_text(f"[fetch]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"field 'fetch.{line.split()[0]}': .*{says}"):
        load_config(path)


@pytest.mark.parametrize("agent, bad", [("newsflow (ops@example.org)\\n", "'\\n' (character 27)"),
                                        ("caf\u00e9/1.0", "'\u00e9' (character 4)")])
def test_a_user_agent_that_cannot_be_a_header_is_a_config_error(tmp_path, agent: str, bad: str):
    """A newline in [fetch] user_agent failed every request locally, retried as a connection failure."""
    path = tmp_path / "newsflow.toml"
    path.write_text(f'[fetch]\nuser_agent = "{agent}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"field 'fetch.user_agent': {bad} cannot go in an HTTP header")):
        load_config(path)


def test_sources_and_a_named_source_together_are_refused():
    """`newsflow ingest extra.html --source samples` loaded the source and passed over extra.html unsaid."""
    from newsflow.config import plan_run

    with pytest.raises(ConfigError, match="give SOURCES or --source, not both: --source samples .* over extra.html"):
        plan_run(resolve_settings(), ["extra.html"], "samples")
    assert plan_run(resolve_settings(), None, "samples").paths


def test_urls_on_the_command_line_take_the_fetch_table_of_the_config_in_use(tmp_path, monkeypatch):
    """`ingest URL` beside ./newsflow.toml applied its [settings] but not its [fetch] table (user agent,
    private networks) unless --config named the file."""
    from newsflow.config import plan_run

    monkeypatch.chdir(tmp_path)
    (tmp_path / "newsflow.toml").write_text('[settings]\nbatch_size = 7\n[fetch]\nallow_private_networks = true\n'
                                            'user_agent = "ops/1.0 (+mailto:ops@example.org)"\n', encoding="utf-8")
    s = resolve_settings()
    policy = plan_run(s, ["http://127.0.0.1:8000/a.html"]).policy
    assert (s.batch_size, policy.allow_private_networks) == (7, True)
    assert policy.user_agent == "ops/1.0 (+mailto:ops@example.org)"


@pytest.mark.parametrize("name", ["DB", "ARCHIVE_DIR", "FETCH_HOSTS_DIR", "CONFIG"])
def test_a_path_that_is_not_utf8_is_a_setting_error(monkeypatch, tmp_path, name: str):
    """`--db` with non-UTF-8 bytes in its name (kept by Python as lone surrogates) failed the run when its
    parameters went to the Prefect API as JSON, after the warehouse file was made."""
    import os

    monkeypatch.setenv(f"NEWSFLOW_{name}", os.fsdecode(os.fsencode(tmp_path) + b"/news-\xfe"))
    with pytest.raises(ConfigError, match=f"{name.lower()}: Value error, .*news-\\\\xfe: the path is not UTF-8"):
        resolve_settings()

def test_environment_overrides_private_network_setting(monkeypatch):
    config = parse_config({"fetch": {"allow_private_networks": False, "allowed_hosts": ["10.0.0.0/8"]}})
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS", "true")
    assert config.fetch_policy(resolve_settings()).allow_private_networks is True
    assert config.fetch_policy(resolve_settings()).allowed_hosts == ("10.0.0.0/8",)
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS", "false")
    allowed_in_file = parse_config({"fetch": {"allow_private_networks": True}})
    assert allowed_in_file.fetch_policy(resolve_settings()).allow_private_networks is False


def test_settings_come_from_the_file_then_the_environment_then_flags(tmp_path, monkeypatch):
    config = tmp_path / "newsflow.toml"
    config.write_text("[settings]\nbatch_size = 50\nwarehouse_wait = 5\ndocument_time_limit = 7\n",
                      encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE_WAIT", "60")
    s = resolve_settings(document_time_limit=9)
    assert (s.batch_size, s.warehouse_wait, s.document_time_limit) == (50, 60.0, 9.0)  # file, env, flag
    assert s.config == config
    config.write_text("[settings]\nbach_size = 50\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) bach_size"):
        resolve_settings()
    monkeypatch.setenv("NEWSFLOW_BATCH_SIZE", "-3")
    config.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="batch_size"):
        resolve_settings()


def test_an_invalid_setting_says_where_it_was_given(tmp_path, monkeypatch):
    """A bad value in the [settings] table did not name the file (nor one in the environment its
    variable), and the error sent the operator to `newsflow settings`, which failed the same way."""
    config = tmp_path / "newsflow.toml"
    config.write_text('[settings]\nbatch_size = "lots"\n', encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
    with pytest.raises(ConfigError, match=re.escape(f"batch_size: Input should be a valid integer, unable to parse string as an integer "
                                                      f"([settings] in {config}: 'lots')")):
        resolve_settings()
    monkeypatch.setenv("NEWSFLOW_BATCH_SIZE", "-3")
    with pytest.raises(ConfigError, match=re.escape("(environment variable NEWSFLOW_BATCH_SIZE: '-3')")):
        resolve_settings()
    with pytest.raises(ConfigError, match=re.escape("batch_size: Input should be greater than 0 (flag --batch-size: 0)")):
        resolve_settings(batch_size=0)
    with pytest.raises(ConfigError, match=re.escape("(flag --retention-hours: -1)")):
        resolve_settings(lake_snapshot_retention=-1)


def test_a_db_flag_beats_a_warehouse_path_from_the_environment_or_the_file(tmp_path, monkeypatch):
    """NEWSFLOW_WAREHOUSE (or [settings] warehouse) naming a file silently beat `--db`: a test run with
    --db test/news.duckdb loaded into the production file."""
    config = tmp_path / "newsflow.toml"
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
    test, prod = tmp_path / "test" / "news.duckdb", tmp_path / "prod" / "news.duckdb"
    config.write_text(f'[settings]\nwarehouse = "{prod}"\n', encoding="utf-8")
    assert resolve_settings(db=str(test)).db_path == test
    assert resolve_settings().db_path == prod
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(prod))
    assert resolve_settings(db=str(test)).db_path == test
    assert resolve_settings().db_path == prod
    assert resolve_settings(db=str(prod), warehouse=str(prod)).db_path == prod
    with pytest.raises(ConfigError, match=f"--db {test} and --warehouse {prod} name two different warehouse "
                                          "files: drop --warehouse"):
        resolve_settings(db=str(test), warehouse=str(prod))


@pytest.mark.parametrize("body", ["settings = 5", "[[settings]]\nbatch_size = 3", 'settings = "db"'])
def test_settings_that_are_not_a_table_are_one_line(tmp_path, monkeypatch, body: str):
    """`settings = 5` or `[[settings]]` in newsflow.toml ended every command in a TypeError traceback."""
    config = tmp_path / "newsflow.toml"
    config.write_text(body + "\n", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
    with pytest.raises(ConfigError, match=re.escape(f"{config}: [settings] must be a table")):
        resolve_settings()
    with pytest.raises(ConfigError, match=re.escape(f"{config}: field 'settings': [settings] must be a table")):
        load_config(config)


@pytest.mark.parametrize("text, seconds", [(90, 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("1d", 86400)])
def test_intervals(text, seconds):
    assert parse_interval(text) == seconds


def test_interval_too_short():
    with pytest.raises(ValueError, match="at least 10 s"):
        parse_interval("1s")


def test_cli_rejects_a_bad_config_before_starting_prefect(tmp_path):
    from typer.testing import CliRunner

    from newsflow.cli import app

    bad = tmp_path / "newsflow.toml"
    bad.write_text('[[sources]]\nname = "wire"\nkind = "feed"\nlocation = "https://x.example/rss"\n'
                   'cron = "often"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", "--source", "wire", "--config", str(bad)])
    assert result.exit_code == 2
    assert "source 'wire', field 'cron'" in result.output
    result = CliRunner().invoke(app, ["serve", "--config", str(bad)])
    assert result.exit_code == 2 and "'often' is not a cron expression" in result.output


def test_serve_reads_the_config_named_by_newsflow_config(tmp_path, monkeypatch):
    """`serve` read ./newsflow.toml or the repository's file whatever NEWSFLOW_CONFIG said, and served
    on when it named no file."""
    from typer.testing import CliRunner

    from newsflow.cli import app

    bad = tmp_path / "mine.toml"
    bad.write_text('[[sources]]\nname = "alpha"\nkind = "files"\nlocation = "."\ncron = "often"\n',
                   encoding="utf-8")
    for config, says in ((bad, "'often' is not a cron expression"),
                         (tmp_path / "absent.toml", f"{tmp_path / 'absent.toml'}: no such config file")):
        monkeypatch.setenv("NEWSFLOW_CONFIG", str(config))
        result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "news.duckdb")])
        assert result.exit_code == 2 and says in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


@pytest.mark.parametrize("option, value", [("--warehouse", "s3://bucket/news"), ("--db", "s3://bucket/news.duckdb"),
                                           ("--warehouse", "postgres://u@127.0.0.1/news")])
def test_a_url_as_the_warehouse_is_a_setting_error_that_writes_nothing(tmp_path, monkeypatch, option, value):
    """A URL that is not a ducklake: catalog became a relative path: a run made the folders ./s3:/bucket/
    and a warehouse in them."""
    from typer.testing import CliRunner

    from newsflow.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("Title\n\nSome text of an article.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", "a.txt", option, value])
    assert result.exit_code == 2, result.output
    assert f"{value!r} is a URL, not a warehouse newsflow writes" in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_settings_command_shows_values_and_variables(monkeypatch, tmp_path: Path):
    """The config row said None where no file was named, though runs read ./newsflow.toml or the
    repository's."""
    from typer.testing import CliRunner

    from newsflow.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSFLOW_CONFIG", raising=False)
    monkeypatch.setenv("NEWSFLOW_BATCH_SIZE", "123")
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0
    rows = _table(result.output)
    assert rows["batch_size"][:2] == ["123", "NEWSFLOW_BATCH_SIZE"]
    assert rows["config"][0] == str(REPO_ROOT / "newsflow.toml")
    (tmp_path / "newsflow.toml").write_text("", encoding="utf-8")
    assert _table(CliRunner().invoke(app, ["settings"]).output)["config"][0] == str(tmp_path / "newsflow.toml")
    result = CliRunner().invoke(app, ["settings", "--config", "nwesflow.toml"])  # showed the defaults
    assert result.exit_code == 2 and f"{tmp_path / 'nwesflow.toml'}: no such config file" in result.output


def _table(output: str) -> dict[str, list[str]]:
    """A rich table's rows by their first cell, each cell's lines joined (a long value is folded)."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if not cells:
            continue
        if cells[0]:
            rows[cells[0]] = cells[1:]
            continue
        rows[next(reversed(rows))] = [a + b for a, b in zip(rows[next(reversed(rows))], cells[1:])]
    return rows


def test_a_blank_db_is_unset_and_one_ending_in_a_slash_names_a_folder(tmp_path: Path, monkeypatch):
    """NEWSFLOW_DB=" " made a warehouse file named " "; NEWSFLOW_DB (or [settings] db) ending in "/"
    made one named like the folder it meant, which --db already refused."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSFLOW_DB", " ")
    assert resolve_settings().db_path == Settings().db_path == DEFAULT_DB
    monkeypatch.setenv("NEWSFLOW_DB", f"{tmp_path / 'new'}/")
    with pytest.raises(ConfigError, match=re.escape(f"names a folder that does not exist; give the warehouse "
                                                    f"file's path, e.g. {tmp_path / 'new' / 'news.duckdb'}")):
        resolve_settings()
    monkeypatch.delenv("NEWSFLOW_DB")
    (tmp_path / "newsflow.toml").write_text('[settings]\ndb = "new/"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="new/ names a folder that does not exist"):
        resolve_settings()


def test_relative_paths_in_the_settings_table_are_relative_to_the_config_file(tmp_path: Path, monkeypatch):
    """newsflow.toml says its paths are relative to it, but [settings] db and archive_dir were taken
    relative to the current folder: the same config run from two folders wrote two warehouses."""
    (tmp_path / "srv").mkdir()
    (tmp_path / "a").mkdir()
    config = tmp_path / "srv" / "newsflow.toml"
    config.write_text('[settings]\ndb = "warehouse/news.duckdb"\narchive_dir = "raw"\n'
                      'fetch_hosts_dir = "/var/hosts"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path / "a")
    s = resolve_settings(config=str(config))
    assert (s.db_path, s.archive_path) == (tmp_path / "srv" / "warehouse" / "news.duckdb", tmp_path / "srv" / "raw")
    assert s.hosts_dir == Path("/var/hosts")
    monkeypatch.setenv("NEWSFLOW_ARCHIVE_DIR", "mine")  # the environment's paths: the current folder's
    assert resolve_settings(config=str(config)).archive_path == tmp_path / "a" / "mine"


def test_a_relative_lake_data_path_is_made_absolute(tmp_path: Path, monkeypatch):
    """The catalog keeps the data path as the first writer gave it: `lake data/` from one folder was a
    lake every command started in another folder failed to read ("Cannot open file")."""
    monkeypatch.chdir(tmp_path)
    assert Settings(lake_data_path="lake data").lake_data_path == f"{tmp_path}/lake data/"
    assert Settings(lake_data_path="~/lake").lake_data_path == f"{Path.home()}/lake/"
    assert Settings(lake_data_path="s3://bucket/news").lake_data_path == "s3://bucket/news/"


def test_a_variable_set_to_nothing_is_unset(monkeypatch):
    """`export NEWSFLOW_LAKE_SNAPSHOT_RETENTION=` (or any number's variable) failed every command with
    "Input should be a valid number"; the other settings took a blank value as unset already."""
    names = ("NEWSFLOW_BATCH_SIZE", "NEWSFLOW_LAKE_SNAPSHOT_RETENTION", "NEWSFLOW_DEBUG", "NEWSFLOW_DB")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    unset = Settings()
    for name in names:
        monkeypatch.setenv(name, "")
    assert Settings() == unset and (unset.batch_size, unset.lake_snapshot_retention) == (400, 168.0)
