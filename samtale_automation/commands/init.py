"""`samtale init DIR`: a ready folder — master workbook, samtale.toml, key and the folders."""

from __future__ import annotations

import secrets
from pathlib import Path

from samtale_automation.commands.results import InitResult
from samtale_automation.config import DEFAULT_TOML
from samtale_automation.errors import UsageError
from samtale_automation.paths import MASTER_XLSM, MASTER_XLSX, Folder, make_private_dir
from samtale_automation.plans.overview import plan_overview
from samtale_automation.safe_write import make_private, temp_path, write_private
from samtale_automation.texts import tr
from samtale_automation.workbook.build import build_master


def init_folder(root: Path, lang: str = "nb", command: str = "init", macros: bool = False) -> list[Path]:
    """Create a new samtale folder at `root`; refuse to overwrite anything. Returns what was made.

    `command` is the command a person typed (`init` or `demo`), named in the refusal. With `macros`
    the master is samtaler.xlsm with the buttons (DESIGN.md §9), else samtaler.xlsx.
    """
    folder = Folder(root.resolve())
    existing = [p for p in (folder.root / MASTER_XLSX, folder.root / MASTER_XLSM, folder.config,
                            folder.key, folder.journal) if p.exists()]
    if existing:
        raise UsageError(
            tr(f"Finnes fra før, og samtale {command} overskriver ingenting: ",
               f"Already exists, and samtale {command} overwrites nothing: ")
            + ", ".join(str(p) for p in existing),
            hint=tr("Velg en ny mappe, eller flytt filene bort først.",
                    "Choose a new folder, or move the files away first."),
        )
    folder.root.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    for sub in folder.subdirs():
        if not sub.exists():
            make_private_dir(sub)
            created.append(sub)
    # The master and samtale.toml are private to the running user (0600; on Windows they inherit
    # the folder's ACL); every later write keeps the master's mode (safe_write.replace_safely).
    master = folder.root / (MASTER_XLSM if macros else MASTER_XLSX)
    temp = temp_path(master)
    build_master(temp, lang, macros=macros, overview=plan_overview)
    make_private(temp)
    temp.replace(master)
    created.append(master)
    write_private(folder.config, DEFAULT_TOML.encode("utf-8"))
    created.append(folder.config)
    write_private(folder.key, secrets.token_bytes(32))
    created.append(folder.key)
    return created


def run_init(target: Path, lang: str = "nb", macros: bool = False) -> InitResult:
    """`samtale init DIR [--macros]`: make the folder; the result names `target` as the person wrote it."""
    created = init_folder(target, lang, macros=macros)
    master = next(path for path in created if path.name in (MASTER_XLSX, MASTER_XLSM))
    return InitResult(target, created, master)
