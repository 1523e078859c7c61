"""The code uses only the frameworks' public APIs: an upgrade of Dagster, dagster-dbt, dbt, Great
Expectations or PySpark within their documented API must not break it.

The scan reads every Python file of the project (code, tests, benchmarks) and reports:
- an import of a module with a path segment that begins with `_` (`dagster._core...`);
- an imported name that begins with `_`;
- a module that the package does not document as its API: the Dagster packages (`dagster`,
  `dagster_dbt`, `dagster_duckdb`, ...) document their API at the package's top level, so
  `dagster_dbt.asset_utils` or `dagster_dbt.core.dbt_cli_invocation` are internal; dbt documents
  only `dbt.cli.main` (programmatic invocations);
- a `_`-prefixed attribute of a framework name (`DuckDBConnectionManager._ENV`);
- a subclass of a framework class that defines a `_`-prefixed method (overriding a private one);
- an assignment to an attribute of a framework name, or `setattr` on one (monkeypatching);
- `ctypes.pythonapi` (interrupting threads behind the interpreter's back).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_DIR

SCANNED = ("orchestration", "tests", "benchmarks")
# Packages that document their API at the top level only.
TOP_LEVEL_ONLY = ("dagster",)
DOCUMENTED_MODULES = {"dbt": ("dbt.cli.main",)}
OTHER_FRAMEWORKS = ("great_expectations", "pyspark")


def _root(module: str) -> str:
    return module.split(".")[0]


def _is_framework(module: str) -> bool:
    root = _root(module)
    return (
        root in TOP_LEVEL_ONLY
        or root.startswith("dagster_")
        or root in DOCUMENTED_MODULES
        or root in OTHER_FRAMEWORKS
    )


def _module_problem(module: str) -> str | None:
    parts = module.split(".")
    if any(part.startswith("_") for part in parts):
        return f"private module {module}"
    root = parts[0]
    if (root in TOP_LEVEL_ONLY or root.startswith("dagster_")) and len(parts) > 1:
        return f"internal module {module} (import from {root} itself)"
    if root in DOCUMENTED_MODULES and module not in DOCUMENTED_MODULES[root]:
        return f"internal module {module} (documented: {', '.join(DOCUMENTED_MODULES[root])})"
    return None


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _base_name(node: ast.expr) -> str | None:
    """The leftmost name of `a.b.c`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan_source(source: str, where: str) -> list[str]:
    """Every use of a framework's internals in `source`, one line each."""
    tree = ast.parse(source)
    problems: list[str] = []
    framework_names: set[str] = set()

    def report(node: ast.AST, message: str) -> None:
        problems.append(f"{where}:{getattr(node, 'lineno', 0)}: {message}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_framework(alias.name):
                    framework_names.add((alias.asname or alias.name).split(".")[0])
                    if problem := _module_problem(alias.name):
                        report(node, problem)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not _is_framework(node.module):
                continue
            if problem := _module_problem(node.module):
                report(node, problem)
            for alias in node.names:
                framework_names.add(alias.asname or alias.name)
                if alias.name.startswith("_") and not _dunder(alias.name):
                    report(node, f"private name {alias.name} from {node.module}")

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _base_name(node) in framework_names
            and node.attr.startswith("_")
            and not _dunder(node.attr)
        ):
            report(node, f"private attribute {ast.unparse(node)}")
        if isinstance(node, ast.Attribute) and ast.unparse(node) == "ctypes.pythonapi":
            report(node, "ctypes.pythonapi")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _base_name(target) in framework_names:
                    report(node, f"monkeypatch: assignment to {ast.unparse(target)}")
        if isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            first = node.args[0]
            patched = _base_name(first) in framework_names or (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_framework(first.value)
            )
            if func in ("setattr", "monkeypatch.setattr", "mock.patch.object") and patched:
                report(node, f"monkeypatch: {func}({ast.unparse(first)}, ...)")
        if isinstance(node, ast.ClassDef) and any(
            _base_name(base) in framework_names for base in node.bases
        ):
            for item in node.body:
                if (
                    isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and item.name.startswith("_")
                    and not _dunder(item.name)
                ):
                    report(item, f"{node.name} overrides private method {item.name}")
    return problems


def project_files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (PROJECT_DIR / folder).rglob("*.py"))


def test_the_project_uses_only_public_framework_apis():
    problems = [
        problem
        for path in project_files()
        for problem in scan_source(path.read_text(), str(path.relative_to(PROJECT_DIR)))
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import dagster._core.events", "private module dagster._core.events"),
        ("from dagster._utils.error import x", "private module dagster._utils.error"),
        ("from dagster import _check", "private name _check from dagster"),
        (
            "from dagster_dbt.asset_utils import get_x",
            "internal module dagster_dbt.asset_utils (import from dagster_dbt itself)",
        ),
        (
            "from dagster_dbt.core.dbt_cli_invocation import PARTIAL_PARSE_FILE_NAME",
            "internal module dagster_dbt.core.dbt_cli_invocation (import from dagster_dbt itself)",
        ),
        (
            "from dagster_duckdb import DuckDBResource\nx = DuckDBResource._ENV",
            "private attribute DuckDBResource._ENV",
        ),
        ("import dbt.version", "internal module dbt.version (documented: dbt.cli.main)"),
        (
            "from dagster_dbt import DbtCliResource\n"
            "class Cli(DbtCliResource):\n    def _cli_version(self): ...",
            "Cli overrides private method _cli_version",
        ),
        ("import dagster as dg\ndg.asset = None", "monkeypatch: assignment to dg.asset"),
        (
            "def t(monkeypatch):\n    monkeypatch.setattr('dagster_dbt.DbtCliResource.cli', f)",
            "monkeypatch: monkeypatch.setattr('dagster_dbt.DbtCliResource.cli', ...)",
        ),
        ("import ctypes\nctypes.pythonapi.PyThreadState_SetAsyncExc(1, 2)", "ctypes.pythonapi"),
    ],
)
def test_the_scan_catches_each_kind_of_private_use(source: str, expected: str):
    problems = scan_source(source, "example.py")
    assert [p.split(": ", 1)[1] for p in problems] == [expected]


def test_public_uses_pass_the_scan():
    source = (
        "import dagster as dg\n"
        "from dagster_dbt import DbtCliResource, dbt_assets\n"
        "from dbt.cli.main import dbtRunner\n"
        "import great_expectations as gx\n"
        "class Translator(dg.ConfigurableResource):\n"
        "    def get_spec(self): ...\n"
        "    def __init__(self): ...\n"
        "x = dg.AssetKey(['a'])\n"
    )
    assert scan_source(source, "example.py") == []
