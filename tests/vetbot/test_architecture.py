"""Architecture rules: one-way layers, no import cycles, no hidden imports, small modules.

The import contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are checked with
import-linter; the other rules are read from the source with ``ast``.
"""

from __future__ import annotations

import ast
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

from vetbot.settings import PROJECT_ROOT

PACKAGES = ("vetbot", "knowledge", "ingest", "complaints", "bot", "api")
CONTRACTS = ("layers", *(f"acyclic-{p}" for p in PACKAGES))
MAX_MODULE_LINES = 500
# A module may pass the soft limit only when its docstring says why it is one piece (the
# phrase below), and never the hard one.
WHY_ONE_PIECE = "over 500 lines on purpose"
HARD_MAX_MODULE_LINES = 650


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (PROJECT_ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@contextlib.contextmanager
def _logging_kept() -> Iterator[None]:
    """Undo what import-linter's ``dictConfig`` does to the process's loggers.

    ``lint_imports`` configures logging with ``disable_existing_loggers`` left at True, which
    silences every logger created so far (``bot.app`` among them) for the rest of the test run,
    so a later ``caplog`` test saw no records when this module ran first.
    """
    manager = logging.Logger.manager
    before = {name: (lg.disabled, list(lg.handlers), lg.level, lg.propagate)
              for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    try:
        yield
    finally:
        for name, lg in list(manager.loggerDict.items()):
            if not isinstance(lg, logging.Logger):
                continue
            if name in before:
                lg.disabled, lg.handlers[:], lg.level, lg.propagate = (
                    before[name][0], before[name][1], before[name][2], before[name][3])
            else:  # created by import-linter itself: keep it, but without its console handler
                lg.handlers.clear()


def _lint(contract: str) -> int:
    with _logging_kept():
        return lint_imports(
            config_filename=str(PROJECT_ROOT / "pyproject.toml"),
            limit_to_contracts=(contract,),
            no_cache=True,
            no_logo=True,
        )


@pytest.mark.parametrize("contract", CONTRACTS)
def test_import_contract_is_kept(contract: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = _lint(contract)
    assert code == 0, capsys.readouterr().out


def test_checking_contracts_leaves_existing_loggers_working(caplog: pytest.LogCaptureFixture) -> None:
    # Reproduces the order dependence: after import-linter ran, bot.app's error log was lost.
    sentinel = logging.getLogger("vetbot.tests.sentinel")
    _lint("acyclic-vetbot")
    caplog.set_level(logging.ERROR, logger="vetbot.tests.sentinel")
    sentinel.error("still heard")
    assert not sentinel.disabled
    assert [r.getMessage() for r in caplog.records if r.name == sentinel.name] == ["still heard"]


def _imports_in_functions(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """``module:line imported`` for every project import inside a function body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]  # relative: always the project
            else:
                continue
            for name in names:
                if name.startswith(".") or name.split(".")[0] in PACKAGES:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    return sorted(set(found))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_project_imports_inside_functions(package: str) -> None:
    """In-function imports are kept for heavy optional third-party modules only (torch, chromadb...)."""
    hidden = [hit for path in _modules(package) for hit in _imports_in_functions(path)]
    assert not hidden, "project imports inside functions:\n" + "\n".join(hidden)


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_stay_small(package: str) -> None:
    big = {}
    for path in _modules(package):
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        explained = WHY_ONE_PIECE in " ".join((ast.get_docstring(ast.parse(source)) or "").split())
        if lines > HARD_MAX_MODULE_LINES or (lines > MAX_MODULE_LINES and not explained):
            big[str(path.relative_to(PROJECT_ROOT))] = lines
    assert not big, f"modules over {MAX_MODULE_LINES} lines without a reason in their docstring: {big}"


def test_the_detector_sees_hidden_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import os\n"
        "def f():\n    import torch\n    from knowledge.store import KnowledgeStore\n"
        "async def g():\n    from . import sibling\n",
        encoding="utf-8",
    )
    assert _imports_in_functions(source, tmp_path) == ["m.py:4 knowledge.store", "m.py:6 ."]
