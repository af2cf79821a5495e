"""Build `workbooks/vbaProject.bin` from VBA sources, reproducibly (DESIGN.md §9, research/excel.md §2.1).

    python -m samtale_automation.workbook.vba_build           # regenerate the .bas and the .bin
    python -m samtale_automation.workbook.vba_build --check   # exit 1 if either is out of date

The project holds:

- a document module for the workbook (`ThisWorkbook`) and one per sheet of the .xlsm, named
  as `buttons.sheet_code_names()` names them, which is what the builder gives XlsxWriter's
  `set_vba_name`, so Excel finds a module for every code name and makes none of its own;
- `xlwings` and its `Dictionary` class, read at build time from the installed xlwings package,
  which must be exactly `XLWINGS_VERSION` (standalone: no add-in, no VBA reference);
- every `.bas`/`.cls` in `workbooks/vba/` (the button Subs, generated from `buttons.BUTTONS`).

pyOpenVBA (exactly `PYOPENVBA_VERSION`, a build-time dependency from the `test` extra) writes the
project into a stub workbook; the bin is taken from there. Users get the committed bin; nothing
here runs when a workbook is made. Building twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from samtale_automation.paths import data_dir
from samtale_automation.workbook import buttons

XLWINGS_VERSION = "0.37.8"
PYOPENVBA_VERSION = "6.5.0"
BIN_NAME = "vbaProject.bin"
VBA_DIR_NAME = "vba"


@dataclass(frozen=True)
class VbaModule:
    """One VBA module's name and source (CRLF line ends), and whether it is a class module."""

    name: str
    source: str
    is_class: bool = False


def crlf(text: str) -> str:
    """The text with every line end as CRLF, as the VBA editor stores and exports modules."""
    return "\r\n".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def workbooks_dir() -> Path:
    """The `workbooks/` folder (the repository's in a checkout, the package's in a wheel)."""
    return data_dir("workbooks")


def bin_path() -> Path:
    """Where the committed vbaProject.bin lives."""
    return workbooks_dir() / BIN_NAME


def repo_modules(folder: Path | None = None) -> list[VbaModule]:
    """The modules in `workbooks/vba/` (.bas standard, .cls class), by name."""
    folder = folder or workbooks_dir() / VBA_DIR_NAME
    modules = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".bas", ".cls"):
            text = path.read_bytes().decode("ascii")  # VBA sources are ASCII: see buttons.py
            modules.append(VbaModule(path.stem, crlf(text), path.suffix.lower() == ".cls"))
    return modules


def xlwings_modules() -> list[VbaModule]:
    """`xlwings.bas` and `Dictionary.cls` from the installed xlwings, which must be the pinned version."""
    from importlib import metadata, util

    installed = metadata.version("xlwings")
    if installed != XLWINGS_VERSION:
        raise RuntimeError(f"The VBA project is built with xlwings {XLWINGS_VERSION}; {installed} is "
                           f"installed. Install xlwings=={XLWINGS_VERSION}, or pin the new version everywhere.")
    spec = util.find_spec("xlwings")  # the package's files, without importing it
    assert spec is not None and spec.origin is not None
    root = Path(spec.origin).parent
    return [VbaModule("xlwings", crlf((root / "xlwings.bas").read_bytes().decode("ascii"))),
            VbaModule("Dictionary", crlf((root / "addin" / "Dictionary.cls").read_bytes().decode("ascii")), True)]


def all_modules() -> list[VbaModule]:
    """Every code module of the project, in the order they are added."""
    return [*xlwings_modules(), *repo_modules()]


def build_vba_project(modules: Sequence[VbaModule], code_names: Sequence[str],
                      workbook_code_name: str = buttons.WORKBOOK_CODE_NAME) -> bytes:
    """The bytes of a vbaProject.bin with document modules for `code_names` and the given modules."""
    import pyopenvba
    from pyopenvba.vba import VBAModuleKind

    if pyopenvba.__version__ != PYOPENVBA_VERSION:
        raise RuntimeError(f"The VBA project is built with pyOpenVBA {PYOPENVBA_VERSION}; "
                           f"{pyopenvba.__version__} is installed (pip install pyopenvba=={PYOPENVBA_VERSION}).")
    with tempfile.TemporaryDirectory() as scratch:
        stub, done = Path(scratch) / "stub.xlsm", Path(scratch) / "done.xlsm"
        _write_stub(stub, code_names, workbook_code_name)
        with pyopenvba.ExcelFile(stub) as book:
            project = book.add_vba_project()
            made = [m.name for m in project.modules]
            wanted = [workbook_code_name, *code_names]
            if made != wanted:
                raise RuntimeError(f"pyOpenVBA made the document modules {made}, not {wanted}")
            for module in modules:
                kind = VBAModuleKind.other if module.is_class else VBAModuleKind.standard
                project.add_module(module.name, module.source, kind=kind)
            book.save(done)
        import zipfile

        with zipfile.ZipFile(done) as package:
            return package.read("xl/vbaProject.bin")


def _write_stub(path: Path, code_names: Sequence[str], workbook_code_name: str) -> None:
    """An empty workbook whose sheets carry `code_names` (XlsxWriter, fixed dates)."""
    from datetime import datetime

    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": datetime(2026, 1, 1)})
    book.set_vba_name(workbook_code_name)
    for index, code_name in enumerate(code_names, start=1):
        book.add_worksheet(f"Ark{index}").set_vba_name(code_name)
    book.close()


def build() -> bytes:
    """The vbaProject.bin for the master .xlsm, from the current sources."""
    return build_vba_project(all_modules(), list(buttons.sheet_code_names().values()))


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate `workbooks/vba/SamtaleButtons.bas` and `workbooks/vbaProject.bin`, or check them."""
    parser = argparse.ArgumentParser(prog="python -m samtale_automation.workbook.vba_build",
                                     description="Build workbooks/vbaProject.bin from the VBA sources.")
    parser.add_argument("--check", action="store_true", help="only check that both files are up to date")
    args = parser.parse_args(argv)
    bas = workbooks_dir() / VBA_DIR_NAME / f"{buttons.VBA_MODULE}.bas"
    generated = buttons.module_source()
    stale: list[str] = []
    if not bas.exists() or bas.read_text(encoding="ascii") != generated:
        stale.append(str(bas))
        if not args.check:
            bas.parent.mkdir(parents=True, exist_ok=True)
            bas.write_bytes(generated.encode("ascii"))
    fresh = build()
    target = bin_path()
    if not target.exists() or target.read_bytes() != fresh:
        stale.append(str(target))
        if not args.check:
            target.write_bytes(fresh)
    if args.check and stale:
        print("Out of date (run python -m samtale_automation.workbook.vba_build): " + ", ".join(stale))
        return 1
    print(("Up to date: " if not stale else "Wrote: ") + ", ".join(stale or [str(bas), str(target)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
