"""The floor plan, checked: which packages may import which, no file circles, and no method name
compared in a literal outside the method specs (in the app's Python and in static/js). Imports are
read from the source (``ast``), lazy ones inside functions and ``TYPE_CHECKING`` blocks included: a
hidden arrow is still an arrow."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest

from app.training.methods import METHODS

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
GROUND_FLOOR = (
    "app.identity",
    "app.rows",
    "app.live",
    "app.db",
    "app.events",
    "app.config",
    "app.json_numbers",
)
UPPER_WINGS = ("app.jobs", "app.classroom", "app.limits", "app.lesson", "app.api", "app.main")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The app modules ``name`` imports (``from app.x import y`` counts ``app.x.y`` when it is a module)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES and m != name and m != "app"}


GRAPH = {name: imports_of(name) for name in MODULES}


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def arrows(source: str, target: str) -> list[str]:
    return sorted(
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        if in_package(a, source)
        for b in targets
        if in_package(b, target)
    )


def test_the_walk_sees_the_imports() -> None:
    """The walker itself: it must find arrows that are there (else every check below passes vacuously)."""
    assert "app.jobs.store" in GRAPH["app.jobs.runner"]
    assert "app.live.broadcast" in GRAPH["app.classroom.hub"]
    assert "app.identity" in GRAPH["app.jobs.submit"]
    assert len(MODULES) > 80


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("app.jobs", "app.classroom"),
        ("app.jobs", "app.limits"),
        ("app.classroom", "app.jobs"),
        ("app.limits", "app.jobs"),
        ("app.limits", "app.classroom"),
        ("app.training", "app.api"),
        ("app.training", "app.jobs"),
        ("app.jobs", "app.api"),
        ("app.classroom", "app.api"),
    ],
)
def test_wings_do_not_import_each_other(source: str, target: str) -> None:
    assert arrows(source, target) == []


@pytest.mark.parametrize("floor", GROUND_FLOOR)
def test_the_ground_floor_stands_alone(floor: str) -> None:
    """identity, rows and live fan-out are reached by jobs, classroom and limits; they import none of them."""
    upward = [arrow for wing in UPPER_WINGS for arrow in arrows(floor, wing)]
    assert upward == []


def test_no_file_circle() -> None:
    """No module reaches itself through its imports (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert circles == []


SPEC_MODULES = {"app/training/methods.py"}  # the specs themselves


def _names_method(node: ast.expr) -> bool:
    """``method``, ``cfg.method``, ``job.method``, ``state_method``...: something that holds a method name."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return "method" in name.lower()


def _method_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in METHODS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_method_literal(item) for item in node.elts)
    return False


def comparisons_in(source: str) -> list[int]:
    """Lines where a method-holding name is compared (==, !=, in, not in) with a method-name literal."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_method(s) for s in sides) and any(_method_literal(s) for s in sides):
                lines.append(node.lineno)
    return lines


def literal_method_comparisons() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        if where in SPEC_MODULES:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{where}:{n}: {text.splitlines()[n - 1].strip()}" for n in comparisons_in(text)]
    return found


def test_the_method_grep_finds_a_comparison() -> None:
    """The search catches the shapes it is meant to (so an empty result below means something)."""
    for line in (
        'cfg.method == "qlora"',
        'method in ("lora", "qlora")',
        '"full" != job.method',
        "m not in ['sft']",
    ):
        assert comparisons_in(line.replace("m not", "method not")), line
    for line in ('for method in ("prompt", "prefix"): pass', '"prompt" in row', 'kind == "lora"'):
        assert not comparisons_in(line), line


def test_no_method_name_compared_in_a_literal() -> None:
    """A method's facts live on its ``MethodSpec``; other modules read them there."""
    assert literal_method_comparisons() == []


# The front end reads the same facts from the page (static/js/facts.js); a method name written into a
# comparison or a written-out list of methods is a second copy of a fact. JavaScript is not parsed
# here: these patterns find the shapes such copies take (the tests below show each one caught).
JS_DIR = ROOT / "static" / "js"
_NAME = "(?:" + "|".join(re.escape(m) for m in METHODS) + ")"
_LITERAL = rf"""['"`]{_NAME}['"`]"""
_HOLDER = r"""[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*|\(['"][\w$]*['"]\))*"""  # state.method, getParam('m')
_JS_COPIES = (
    # state.method === 'qlora', 'full' !== job.method
    re.compile(rf"(?P<a>{_HOLDER})\s*[!=]==?\s*{_LITERAL}"),
    re.compile(rf"{_LITERAL}\s*[!=]==?\s*(?P<a>{_HOLDER})"),
    # ['lora', 'qlora'].includes(method), new Set(['sft']).has(job.method)
    re.compile(rf"\[[^\]]*{_LITERAL}[^\]]*\]\)?\s*\.(?:includes|has)\((?P<a>[^)]*\)?)\)"),
    # case 'lora': in a switch on a method
    re.compile(rf"case\s+{_LITERAL}\s*:(?P<a>)"),
)
# a list that writes out two or more method names: ['full', 'lora', ...]
_JS_LIST = re.compile(rf"\[\s*{_LITERAL}\s*,\s*{_LITERAL}")


def js_method_copies(source: str) -> list[int]:
    """Lines of JavaScript that compare a method-holding name with a method-name literal, switch on
    one, or write out a list of method names."""
    lines = set()
    for number, line in enumerate(source.splitlines(), start=1):
        code = line.split("//", 1)[0] if line.lstrip().startswith("//") else line
        for pattern in _JS_COPIES:
            for match in pattern.finditer(code):
                if pattern.pattern.startswith("case") or "method" in match.group("a").lower():
                    lines.add(number)
        if _JS_LIST.search(code):
            lines.add(number)
    return sorted(lines)


def js_literal_method_copies() -> list[str]:
    found = []
    for path in sorted(JS_DIR.rglob("*.js")):
        if "vendor" in path.relative_to(JS_DIR).parts:
            continue
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT).as_posix()
        found += [f"{where}:{n}: {text.splitlines()[n - 1].strip()}" for n in js_method_copies(text)]
    return found


def test_the_js_grep_finds_a_copy() -> None:
    """The JavaScript search catches the shapes it is meant to, among them the lines this check
    replaced (so an empty result below means something)."""
    for line in (
        "  return method === 'qlora' ? 'nf4' : 'dense';",
        "return !started || (started.method !== 'dpo' && started.model !== 'minilm-l6');",
        "if ('full' != job.method) return;",
        "rank.el.hidden = !['lora', 'qlora'].includes(state.method);",
        "method: ['full', 'lora'].includes(getParam('mem_method')) ? getParam('mem_method') : 'full',",
        "if (new Set(['sft']).has(run.method)) skip();",
        'switch (spec.name) { case "head": break; }',
        "export const LORA_METHODS = ['lora', 'qlora', 'sft', 'dpo'];",
        "const CAUSAL_METHODS = [ 'full', 'lora' ];",
    ):
        assert js_method_copies(line), line
    for line in (
        "h('td', { 'data-rank': 'full' }, text)",
        "const DEFAULT_METHOD = 'lora'; // the lesson's running example",
        "if (kind === 'lora') draw();",
        "const recorded = await loadRecorded('prompt');",
        "// compares method === 'lora' in a comment",
    ):
        assert not js_method_copies(line), line


def test_no_method_name_compared_in_a_literal_in_js() -> None:
    """The front end reads a method's facts from the page facts (its spec), not from a copy."""
    assert js_literal_method_copies() == []


SOFT_LINES = 500  # above this a module most likely holds two concepts: a warning names it
HARD_LINES = 900  # above this it certainly does: the test fails


def test_module_size_is_a_hint_not_a_cap() -> None:
    """One concept per module, not a line cap: modules over SOFT_LINES are named in a warning (look
    for a second concept to split out); only one over HARD_LINES fails."""
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    for name, lines in sorted(sizes.items()):
        if lines > SOFT_LINES:
            warnings.warn(f"{name} has {lines} lines: does it hold more than one concept?", stacklevel=1)
    assert {name: lines for name, lines in sizes.items() if lines > HARD_LINES} == {}
