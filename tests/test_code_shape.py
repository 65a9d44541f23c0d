"""The codebase's shape holds: short units, imports that run one way, flows that only compose.

Read from the source with `ast`, so a change that breaks the shape fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("flows", "tasks", "newsflow", "expectations")
MAX_LINES = 60
# The bottom of the import graph: everything may import these, they import nothing of the pipeline.
BOTTOM = ("newsflow/settings.py", "newsflow/config.py", "newsflow/urls.py")


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).glob("*.py"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_function_is_long_without_a_reason():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if lines > MAX_LINES and "Long because" not in doc:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these, or say 'Long because ...' in the docstring:\n" + "\n".join(long)


@pytest.mark.parametrize("module", BOTTOM)
def test_settings_and_config_import_nothing_of_the_pipeline(module):
    upward = {m for m in _imports(REPO / module) if m.split(".")[0] in ("tasks", "flows")
              or m in ("newsflow.cli", "newsflow.ephemeral")}
    assert not upward, f"{module} imports {sorted(upward)}: settings and config sit below everything"


def test_tasks_never_import_flows_or_the_cli():
    offenders = {str(p.relative_to(REPO)): sorted(m for m in _imports(p) if m.split(".")[0] == "flows"
                                                  or m == "newsflow.cli")
                 for p in (REPO / "tasks").glob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_flows_use_no_private_name_of_another_flow():
    for path in (REPO / "flows").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flows"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
