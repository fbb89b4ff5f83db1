"""The program's modules import one way: the model's chain is keys -> model -> rules -> site (the
front door), and no module of components/ imports one that imports it back, however far round
(read from the source, imports inside functions included; only `if TYPE_CHECKING:` ones are types)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.mock_runtime import ROOT_DIR

COMPONENTS = ROOT_DIR / "components"


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT_DIR).with_suffix("").parts).removesuffix(".__init__")


MODULES = {module_of(p): p for p in COMPONENTS.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The modules of components/ that `name` imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
                for alias in node.names:
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            for child in ("body", "orelse", "finalbody", "handlers"):
                if isinstance(getattr(node, child, None), list):
                    visit(getattr(node, child))

    visit(ast.parse(path.read_text()).body)
    return (found & MODULES.keys()) - {name}


def reaches(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in imports(todo.pop()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_no_module_imports_itself_back():
    assert sorted(name for name in MODULES if name in reaches(name)) == []


def test_the_models_chain_runs_keys_model_rules_site():
    assert reaches("components.keys") == set()
    assert reaches("components.model") <= {"components.keys", "components.site_view"}
    assert "components.model" in reaches("components.rules") and "components.site" not in reaches("components.rules")
    assert {"components.rules", "components.model"} <= reaches("components.site")


def test_the_check_sees_a_cycle(tmp_path, monkeypatch):
    """A module of the model that imported the front door back would be reported."""
    model = tmp_path / "components" / "model.py"
    model.parent.mkdir()
    model.write_text(MODULES["components.model"].read_text() + "\nfrom .site import parse_site\n")
    monkeypatch.setitem(MODULES, "components.model", model)
    assert "components.model" in reaches("components.model")
