"""The layout rules the design depends on: the product never imports dev tools or tests, scripts import dev tools
normally (no sys.path hacks into tests), and the shared core stays light."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folders: list[str], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            found += [f"{path.relative_to(REPO_ROOT)} imports {name}" for name in sorted(imported_modules(path))
                      if name.split(".")[0] in forbidden]
    return found


def test_the_product_imports_no_dev_tools_and_no_tests():
    assert offenders(["asr_server", "tray_client", "dictation_core"], ("dictation_devtools", "tests")) == []


def test_the_shared_core_imports_neither_program():
    assert offenders(["dictation_core"], ("asr_server", "tray_client")) == []


def test_dev_tools_and_scripts_import_no_test_code():
    assert offenders(["dictation_devtools", "scripts"], ("tests",)) == []


def test_scripts_do_not_change_sys_path():
    hacks = [str(path.relative_to(REPO_ROOT)) for path in sorted((REPO_ROOT / "scripts").glob("*.py"))
             if "sys.path" in path.read_text(encoding="utf-8")]
    assert hacks == []
