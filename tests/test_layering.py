"""The package's shape: the folders are the pipeline, and a stage never reaches forward.

core -> intake -> read -> validation -> compute -> outputs -> pipeline -> shells.
A module may import its own stage and earlier ones (at module level or inside a
function: a lazy import is still a dependency). The demo sits beside core; the
public API (toolkit/api.py) and the package itself sit above the pipeline; the
schema (schemas/) belongs to the validation stage.
"""
from __future__ import annotations

import ast
from pathlib import Path

import toolkit

ROOT = Path(toolkit.__file__).resolve().parent
STAGES = ["core", "demo", "intake", "read", "validation", "compute", "outputs", "pipeline", "api",
          "shells"]
RANK = {name: i for i, name in enumerate(STAGES)}
RANK["demo"] = RANK["core"]          # the demo's date and roster: beside core, importing only core
RANK["schemas"] = RANK["validation"]
RANK["macros"] = RANK["shells"]      # the shim for button workbooks already handed out
RANK["__init__"] = RANK["api"]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "schemas":
        return "schemas"
    if parts[0] != "toolkit":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    return imports_of_tree(ast.parse(path.read_text(encoding="utf-8")), path, module)


def product_modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        yield path, ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
    for path in sorted((ROOT.parent / "schemas").rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        yield path, ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def test_no_stage_imports_a_later_stage_or_a_shell():
    wrong = []
    for path, module in product_modules():
        own = stage_of(module)
        for line, target in imports_of(path, module):
            other = stage_of(target)
            if own is None or other is None or other == own:
                continue
            if RANK[other] > RANK[own]:
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} ({own}) imports {target} ({other})")
    assert wrong == []


def test_the_shells_call_only_the_public_api():
    """The command line, the daily job, the buttons and the server are thin shells: they reach
    the pipeline only through toolkit.api (and use core's cross-cutting helpers)."""
    allowed = {"api", "core", "shells", "__init__"}
    wrong = []
    for path, module in product_modules():
        if stage_of(module) not in ("shells", "macros"):
            continue
        for line, target in imports_of(path, module):
            if stage_of(target) not in (None, *allowed):
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert wrong == []


def test_every_module_has_a_stage_and_the_top_level_stays_small():
    top = sorted(p.name for p in ROOT.glob("*.py"))
    assert top == ["__init__.py", "api.py", "macros.py"]
    folders = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert set(folders) <= set(STAGES)
    for path, module in product_modules():
        assert stage_of(module) in RANK, module


def test_no_module_is_over_about_600_lines():
    long = {str(p.relative_to(ROOT.parent)): n for p, _ in product_modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}


def test_the_public_api_is_functions():
    import inspect

    from toolkit import (annotate, consolidate, deadline, fetch_mail, fill, load_config, load_settings,
                         validate)
    for f in (validate, fill, annotate, consolidate, deadline, fetch_mail, load_config, load_settings):
        assert inspect.isfunction(f) and f.__doc__, f
    # a stage subpackage imported later must not replace a public function of the same name
    import toolkit.validation.rules  # noqa: F401
    import toolkit.pipeline.consolidate  # noqa: F401
    assert inspect.isfunction(toolkit.validate) and inspect.isfunction(toolkit.consolidate)


def test_the_shim_for_handed_out_workbooks_still_imports():
    """Button workbooks already sent out run `import toolkit.macros as m; m.<handler>()`."""
    import toolkit.macros as m
    from toolkit.shells import buttons
    vba = (ROOT / "shells" / "vba" / "Taizhang.bas").read_text(encoding="utf-8")
    handlers = [line.split('"')[1] for line in vba.splitlines() if 'TZ_Run "' in line]
    assert handlers and all(getattr(m, h) is getattr(buttons, h) for h in handlers)


def test_entry_points_named_by_string_resolve():
    """The sandbox starts workers on "module:function" strings; a moved function must fail here."""
    import re

    from toolkit.intake.sandbox import resolve
    named = set()
    for path, _ in product_modules():
        named |= set(re.findall(r"[\"'](toolkit(?:\.\w+)+:\w+)[\"']", path.read_text(encoding="utf-8")))
    assert {"toolkit.read.workbook:read_ledger", "toolkit.read.sandboxed:checked_reader"} <= named
    for dotted in named:
        assert callable(resolve(dotted)), dotted


# --- where imports go ------------------------------------------------------------------------
# Heavy libraries, imported inside the functions that need them so that a command, a button
# click or a reader process loads only what it uses (cold import on the 2-core machine, measured
# with python -X importtime): pandas 250 ms, pandera 440 ms, xlwings 280 ms, openpyxl 160 ms,
# pyOpenVBA 100 ms, numpy 70 ms, xlsxwriter 30 ms, filelock 27 ms, psutil 15 ms, xlrd 12 ms,
# lxml 11 ms, msoffcrypto 8 ms, olefile 7 ms, schedule 7 ms, oletools (its VBA parser).
HEAVY = {"pandas", "numpy", "pandera", "xlsxwriter", "openpyxl", "xlwings", "pyopenvba", "filelock",
         "psutil", "xlrd", "lxml", "oletools", "msoffcrypto", "olefile", "schedule"}
PLATFORM_ONLY = {"resource", "fcntl", "msvcrt", "winreg"}      # exists on one system only
# The entry points: every command and button imports these first, and each loads only the stage
# it runs (import toolkit stays about 30 ms), so they may import our modules lazily.
ENTRY_POINTS = ("api", "shells", "macros", "__init__")


def _module_level_imports(path: Path, module: str) -> list[str]:
    """What importing ``module`` imports at once (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, stack = [], list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            sub = ast.Module(body=[node], type_ignores=[])
            found += [t for _, t in imports_of_tree(sub, path, module)]
            continue
        stack += list(ast.iter_child_nodes(node))
    return found


def imports_of_tree(tree, path: Path, module: str) -> list[tuple[int, str]]:
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def test_imports_sit_at_the_top_except_heavy_libraries_and_entry_points():
    """No function-level import of the standard library or of our own light modules; a lazy
    import is for a heavy library (HEAVY), a module that imports one, or an entry point."""
    modules = dict((m, p) for p, m in product_modules())

    def own(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    heavy: dict[str, bool] = {}

    def is_heavy(module: str, seen: frozenset = frozenset()) -> bool:
        if module not in heavy:
            heavy[module] = False if module in seen else any(
                t.split(".")[0] in HEAVY or (own(t) is not None and is_heavy(own(t), seen | {module}))
                for t in _module_level_imports(modules[module], module))
        return heavy[module]

    wrong = []
    for module, path in modules.items():
        if stage_of(module) in ENTRY_POINTS:
            continue
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for line, target in imports_of_tree(fn, path, module):
                top = target.split(".")[0]
                if top in HEAVY or top in PLATFORM_ONLY or (own(target) and is_heavy(own(target))):
                    continue
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target} inside a function")
    assert sorted(set(wrong)) == []
