"""The house rules a newcomer relies on: every module lives in a room the README names, a room imports
only from the floors below it, and no two modules import each other, even for type hints."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "openkms"
README = PACKAGE.parent / "README.md"

FLOORS: dict[str, int] = {
    "domain": 0,
    "config": 1,
    "crypto": 1,
    "trust": 2,
    "envelope": 2,
    "whitebox": 2,
    "store": 3,
    "audit": 4,
    "auth": 4,
    "service": 4,
    "api": 5,
    "admin": 6,
    "server": 7,
    "cli": 8,
}
"""Each room's floor: a module may import from its own room and from rooms on lower floors only."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("openkms"):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("openkms"))
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_lives_in_a_room_the_readme_names() -> None:
    layout = README.read_text().split("## Layout", 1)[1]
    named = set(re.findall(r"^openkms/(\w+)/", layout, re.MULTILINE))
    rooms = {_room(module) for module in _imports()} - {""}
    assert rooms <= set(FLOORS), f"rooms without a floor: {rooms - set(FLOORS)}"
    assert rooms == named, f"rooms the README does not name: {rooms - named}; named but gone: {named - rooms}"
    loose = sorted(module for module in _imports() if _room(module) in rooms and module.count(".") == 1)
    assert loose == sorted(f"openkms.{room}" for room in rooms), "a module outside every room"


def test_no_room_imports_from_a_floor_above_or_beside_it() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _imports().items()
        for target in targets
        if _room(module) != _room(target) and FLOORS[_room(target)] >= FLOORS[_room(module)]
    )
    assert upward == []


def test_no_modules_import_each_other() -> None:
    graph = _imports()
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
