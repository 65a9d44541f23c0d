"""newsflow uses only the public API of the projects it builds on, so that their upgrades do not break it
silently. A name is private when it (or the module it comes from) starts with an underscore, or, in a
third-party module that declares `__all__`, when that list leaves it out; Prefect's double-underscore
settings (PREFECT__...) are internal too. Checked statically over flows/, tasks/, newsflow/ and
expectations/ (nothing is imported)."""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("flows", "tasks", "newsflow", "expectations")
PROJECTS = {"httpx", "httpcore", "prefect", "multiprocessing", "trafilatura", "duckdb", "great_expectations"}
# The standard library documents names its modules' __all__ leaves out (multiprocessing.connection's
# Connection class, say): there only the underscore marks a private name.
STDLIB = {"multiprocessing"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@cache
def _module_file(module: str) -> Path | None:
    """The source file of `module` (a dotted name), found without importing anything."""
    root, *parts = module.split(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return Path(spec.origin) if spec is not None and spec.origin and not parts else None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@cache
def _declared_all(module: str) -> frozenset[str] | None:
    """The names `module` lists in a literal `__all__`, or None where that list cannot be the whole
    public API: none declared, built at import time, or a module `__getattr__` that answers more names
    (prefect.settings lists a few of the settings it serves that way)."""
    path = _module_file(module)
    if path is None:
        return None
    tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    if any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in tree.body):
        return None
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                try:
                    return frozenset(ast.literal_eval(node.value))
                except ValueError:
                    return None
    return None


def _is_module(module: str) -> bool:
    return _module_file(module) is not None


def _not_public(module: str, name: str) -> str | None:
    """Why `module.name` is not public API, or None when it is."""
    if _private(name):
        return "a private name"
    if module.split(".")[0] in STDLIB or _is_module(f"{module}.{name}"):
        return None
    exported = _declared_all(module)
    if exported is not None and name not in exported:
        return f"not in {module}.__all__"
    return None


class Checker:
    """Collects the private uses in one module's syntax tree."""

    def __init__(self) -> None:
        self.modules: dict[str, str] = {}  # local name -> dotted name of a module of one of PROJECTS
        self.names: set[str] = set()  # local names of their classes (and other non-module names)
        self.problems: list[tuple[int, str]] = []

    def report(self, node: ast.AST, what: str) -> None:
        self.problems.append((getattr(node, "lineno", 0), what))

    def check_import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] not in PROJECTS:
                continue
            if any(_private(p) for p in parts):
                self.report(node, f"import {alias.name}: a private module")
            self.modules[alias.asname or parts[0]] = alias.name if alias.asname else parts[0]

    def check_import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module.split(".")[0] not in PROJECTS:
            return
        if any(_private(p) for p in module.split(".")):
            self.report(node, f"from {module} import ...: a private module")
            return
        for alias in node.names:
            why = _not_public(module, alias.name)
            if why:
                self.report(node, f"from {module} import {alias.name}: {why}")
            if _is_module(f"{module}.{alias.name}"):
                self.modules[alias.asname or alias.name] = f"{module}.{alias.name}"
            else:
                self.names.add(alias.asname or alias.name)

    def check_attribute_chain(self, node: ast.Attribute) -> None:
        """`m.a.b...` where m names one of their modules: each step must be public."""
        chain: list[str] = []
        value: ast.AST = node
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not (isinstance(value, ast.Name) and value.id in self.modules):
            return
        module = self.modules[value.id]
        for attr in reversed(chain):
            why = _not_public(module, attr)
            if why:
                self.report(node, f"{module}.{attr}: {why}")
                return
            if not _is_module(f"{module}.{attr}"):
                return
            module = f"{module}.{attr}"

    def check_class(self, node: ast.ClassDef) -> None:
        """A subclass of their class shares its attributes: self._x there is their private state."""
        if not any(_root(b) in self.modules or (isinstance(b, ast.Name) and b.id in self.names)
                   for b in node.bases):
            return
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Attribute) and _private(sub.attr) and isinstance(sub.value, ast.Name)
                    and sub.value.id == "self"):
                self.report(sub, f"self.{sub.attr} in {node.name}, a subclass of their class")

    def check_constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "PREFECT__" in node.value:
            self.report(node, "a Prefect-internal setting (PREFECT__...)")


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def problems_in(source: str, name: str) -> list[str]:
    """`name:line: what` for each private use in a module's source."""
    nodes = list(ast.walk(ast.parse(source)))
    checker = Checker()
    for node in nodes:  # imports first: one inside a function may sit below a use elsewhere
        if isinstance(node, ast.Import):
            checker.check_import(node)
        elif isinstance(node, ast.ImportFrom):
            checker.check_import_from(node)
    inner = {id(n.value) for n in nodes if isinstance(n, ast.Attribute)}  # a.b of a.b.c: checked with it
    for node in nodes:
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            checker.check_attribute_chain(node)
        elif isinstance(node, ast.ClassDef):
            checker.check_class(node)
        elif isinstance(node, ast.Constant):
            checker.check_constant(node)
    return sorted({f"{name}:{line}: {what}" for line, what in checker.problems},
                  key=lambda p: int(p.split(":")[1]))


def test_no_module_uses_a_private_api_of_another_project():
    found = [problem for folder in CHECKED for path in sorted((REPO / folder).rglob("*.py"))
             for problem in problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))]
    assert not found, "private API in use:\n" + "\n".join(found)


def test_the_check_finds_each_kind_of_private_use():
    lines = [
        "from httpcore._backends.sync import SyncBackend",  # a private module
        "from multiprocessing import forkserver",
        "import httpx",
        "from trafilatura import metadata as M",
        "forkserver._forkserver._stop()",  # a private attribute
        "M.examine_meta(None)",  # not in trafilatura.metadata.__all__
        "env = {'PREFECT__SERVER_EPHEMERAL': '1'}",  # an internal setting
        "class Transport(httpx.HTTPTransport):",
        "    def __init__(self):",
        "        self._pool = None",  # their private attribute, through a subclass
        "from multiprocessing.connection import Connection",  # documented, though not in its __all__
        "from trafilatura import bare_extraction",
        "from prefect.settings import PREFECT_API_URL",
        "import duckdb",
        "duckdb.connect(':memory:')._x = 1",  # an object's attribute: not followed",
    ]
    found = problems_in("\n".join(lines) + "\n", "sample.py")
    assert [int(p.split(":")[1]) for p in found] == [1, 5, 6, 7, 10], found
