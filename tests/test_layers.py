"""The import rule of DESIGN.md §6, checked on the source: the folders are the layers.

faces → commands → plans → domain; the adapter packages (workbook, prepfile, mail, store,
backends) import only domain and the shared basics; plans have no I/O, no wall clock, no sqlite.
A user command may run another command (its `run_*` function) as a step, never use its insides;
`workspace`, `deliver`, `incoming`, `calendars`, `hr_mail`, `missing_pdfs`, `results` and `results_night`
are the command layer's shared plumbing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "samtale_automation"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

BASICS = {"config", "paths", "errors", "texts", "secrets", "safe_write", "runtime", "settings", "logs", "xlsx_text"}
ADAPTERS = {"workbook", "prepfile", "mail", "store", "backends"}
#: What each layer may import from the package (besides itself).
ALLOWED: dict[str, set[str]] = {
    "faces": {"commands", "plans", "domain", *ADAPTERS, *BASICS},
    "commands": {"plans", "domain", *ADAPTERS, *BASICS},
    "plans": {"domain", "texts", "errors"},
    "domain": {"texts", "errors"},
    **{adapter: {"domain", *BASICS} for adapter in ADAPTERS},
    **{basic: set(BASICS) for basic in BASICS},
}
COMMAND_PLUMBING = {"workspace", "deliver", "incoming", "results", "results_night", "hr_mail", "missing_pdfs",
                    "calendars"}
ORCHESTRATORS = {"demo", "nightly"}  # commands whose job is to run the others
#: Libraries that mean I/O, a server or a file format: never in a pure planner or in the domain.
IMPURE = {"sqlite3", "openpyxl", "xlsxwriter", "python_calamine", "xlwings", "exchangelib", "msal", "requests",
          "smtplib", "imaplib", "socket", "subprocess", "shutil", "os", "tempfile", "jinja2", "keyring", "holidays"}
IMPURE_IN_DOMAIN = IMPURE - {"holidays"}  # the working-day calendar is a domain fact
WALL_CLOCK = {("datetime", "now"), ("datetime", "today"), ("date", "today"), ("time", "time"), ("datetime", "utcnow")}


def layer_of(module: str) -> str:
    """`samtale_automation.plans.invites` → `plans`; `samtale_automation.texts` → `texts`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(tree: ast.AST, module: str) -> list[tuple[str, list[str], int]]:
    """Every import in a module (also inside functions and TYPE_CHECKING): (target module, names, line)."""
    found: list[tuple[str, list[str], int]] = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            if target == PACKAGE:  # `from samtale_automation import texts`
                found += [(f"{PACKAGE}.{name}", [], node.lineno) for name in names]
            else:
                found.append((target, names, node.lineno))
    return found


def violations(module: str, source: str) -> list[str]:
    """What in one module's source breaks the import rule, one line each."""
    tree = ast.parse(source)
    layer = layer_of(module)
    found: list[str] = []
    for target, names, line in imports_of(tree, module):
        top = target.split(".")[0]
        if top != PACKAGE:
            if (layer == "plans" and top in IMPURE) or (layer == "domain" and top in IMPURE_IN_DOMAIN):
                found.append(f"{module}:{line} imports {target} (no I/O in {layer}/)")
            continue
        target_layer = layer_of(target)
        if not target_layer or target_layer in {"__main__", "__init__"} or layer not in ALLOWED:
            continue
        if target_layer == layer:
            if layer == "commands":
                found += _command_to_command(module, target, names, line)
            elif layer == "backends" and _backend_of(module) and _backend_of(target) \
                    and _backend_of(module) != _backend_of(target):
                found.append(f"{module}:{line} imports {target} (one backend never imports another; share it in "
                             "backends/)")
            continue
        if target_layer not in ALLOWED[layer]:
            found.append(f"{module}:{line} imports {target} ({layer}/ may not import {target_layer})")
    if layer == "plans":
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and (node.value.id, node.attr) in WALL_CLOCK:
                found.append(f"{module}:{node.lineno} reads the clock ({node.value.id}.{node.attr}): pass `now` in")
    return found


def _backend_of(module: str) -> str:
    """`samtale_automation.backends.ews.mailbox` → `ews`; a module of backends/ itself → ``."""
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "backends" else ""


def _command_to_command(module: str, target: str, names: list[str], line: int) -> list[str]:
    """A command imports the shared plumbing, or runs another command through its `run_*` function."""
    own, other = module.split(".")[2] if module.count(".") >= 2 else "", target.split(".")[2] if target.count(
        ".") >= 2 else ""
    if other in COMMAND_PLUMBING or own in ORCHESTRATORS or own in COMMAND_PLUMBING:
        return []
    inside = [name for name in names if not name.startswith("run_")]
    if not names or inside:
        return [f"{module}:{line} uses the insides of {target} ({', '.join(inside) or 'the module'}): move what both "
                "need to a plan, an adapter or the command plumbing"]
    return []


def package_modules() -> list[tuple[str, Path]]:
    """Every module of the package with its dotted name."""
    result = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        result.append((name, path))
    return result


def test_every_module_keeps_the_import_rule() -> None:
    """Verify no module in the package imports across the layers the wrong way."""
    found = [v for name, path in package_modules() for v in violations(name, path.read_text(encoding="utf-8"))]
    assert found == []


def test_every_module_lives_in_a_layer() -> None:
    """Verify each module is in a layer folder or is one of the named shared basics."""
    layers = set(ALLOWED) - BASICS
    stray = [name for name, _ in package_modules()
             if name.count(".") == 1 and layer_of(name) not in BASICS | {"__main__"} and layer_of(name) not in layers]
    assert stray == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("samtale_automation.plans.invites", "import sqlite3\n", "no I/O in plans/"),
    ("samtale_automation.plans.invites", "def f():\n    import openpyxl\n", "no I/O in plans/"),
    ("samtale_automation.plans.invites", "from samtale_automation.store.journal import Journal\n",
     "plans/ may not import store"),
    ("samtale_automation.plans.invites", "from datetime import datetime\nx = datetime.now()\n", "reads the clock"),
    ("samtale_automation.domain.model", "from samtale_automation.workbook.read import read_workbook\n",
     "domain/ may not import workbook"),
    ("samtale_automation.backends.ews.backend", "from samtale_automation.backends.smtp.backend import read_mailbox\n",
     "one backend never imports another"),
    ("samtale_automation.backends.ews.backend", "from samtale_automation.backends.batch import BatchBackend\n", ""),
    ("samtale_automation.backends.outbox", "from samtale_automation.mail import templates\n",
     "backends/ may not import mail"),
    ("samtale_automation.workbook.apply", "from samtale_automation import plans\n", "workbook/ may not import plans"),
    ("samtale_automation.commands.remind", "from samtale_automation.commands.invite import mailbox_of\n",
     "uses the insides of samtale_automation.commands.invite"),
    ("samtale_automation.commands.invite", "from samtale_automation.commands.prep import run_prep\n", ""),
    ("samtale_automation.config", "from samtale_automation.domain.master import Master\n",
     "config/ may not import domain"),
])
def test_the_rule_can_fail(module: str, source: str, expected: str) -> None:
    """Verify the check names a violation when a plan imports openpyxl or sqlite3 (and the other wrong ways)."""
    found = violations(module, source)
    if expected:
        assert len(found) == 1 and expected in found[0], found
    else:
        assert found == []
