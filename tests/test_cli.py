import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsflow.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_help_explains_each_command():
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("ingest", "extract"):
        assert command in proc.stdout
    ingest_help = cli("ingest", "--help").stdout
    assert "--db" in ingest_help and "bundled sample" in ingest_help


def test_extract_prints_one_json_object_per_document(samples_dir: Path, tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    proc = cli("extract", str(samples_dir), str(tmp_path / "empty.txt"))
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(objs) == 6
    by_name = {o["source_uri"].rsplit("/", 1)[1]: o for o in objs}
    assert by_name["empty.txt"]["error"] == ["empty file"]
    sample = by_name["002_e0f0b5de1e8e843f.txt"]
    assert sample["title"] == "Kim Jong Un to Visit Vladimir Putin for Weapons Talks"
    assert {r["rule"] for r in sample["removed"]} >= {"teaser", "outlet-list", "repeated-title"}
    assert "Also Read" not in sample["body"]
    assert by_name["001_97e79ec8ab510aad.txt"]["title"] is None
