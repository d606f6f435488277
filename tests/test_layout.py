"""The house rules of ARCHITECTURE.md, checked on the source: who may import whom, and how big a module may grow."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("config", "chain", "devnet", "db", "indexer", "jobs", "gpu_miner", "web", "local")
# The layout table of ARCHITECTURE.md: what each room may import of ours.
MAY_IMPORT = {
    "config": set(),
    "chain": {"config"},
    "devnet": {"config", "chain"},
    "db": {"config"},
    "indexer": {"config", "chain", "db"},
    "jobs": {"config", "chain", "db"},
    "gpu_miner": {"config", "chain"},
    "web": {"config", "chain", "db", "jobs"},
    "local": set(ROOMS),
}
MAX_MODULE_LINES = 450


def _modules(room: str) -> list[Path]:
    return sorted((ROOT / room).rglob("*.py"))


def _rooms_imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in ROOMS)
    return found


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_imports_only_the_rooms_the_layout_allows(room):
    broken = {str(path.relative_to(ROOT)): sorted(_rooms_imported(path) - MAY_IMPORT[room] - {room})
              for path in _modules(room)}
    assert {path: rooms for path, rooms in broken.items() if rooms} == {}


def test_no_module_outside_the_devnet_and_the_tests_is_over_450_lines():
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
             for room in ROOMS if room != "devnet" for path in _modules(room)}
    sizes["manage.py"] = len((ROOT / "manage.py").read_text().splitlines())
    assert {path: lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}
