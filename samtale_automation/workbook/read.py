"""Read the master workbook's tables into raw rows, fast (python-calamine), by header.

Tolerant of what people do to a workbook: columns moved, extra columns, blank rows,
numbers stored as text, trailing spaces, a table turned back into a plain range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samtale_automation.domain.rows import RawTable, RawWorkbook, find_header_row, map_headers, raw_rows
from samtale_automation.domain.schema import TABLES, Sheet
from samtale_automation.errors import WorkbookError
from samtale_automation.texts import tr

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_workbook(path: Path) -> RawWorkbook:
    """Read every schema table of the master workbook at `path`."""
    import python_calamine as pc

    _refuse_non_ooxml(path)
    try:
        book = pc.CalamineWorkbook.from_path(str(path), load_tables=True)
    except pc.PasswordError:
        raise _password_error(path) from None
    except (pc.CalamineError, pc.ZipError, pc.XmlError, OSError, ValueError) as exc:
        raise WorkbookError(
            tr(f"Kan ikke lese {path.name}: {exc}", f"Cannot read {path.name}: {exc}"),
            hint=tr("Åpne filen i Excel og lagre den på nytt som .xlsx, eller hent en kopi fra "
                    ".samtale/backups/.",
                    "Open the file in Excel and save it again as .xlsx, or restore a copy from "
                    ".samtale/backups/."),
        ) from None
    try:
        table_names = set(book.table_names or [])
        tables: dict[str, RawTable] = {}
        missing: list[Sheet] = []
        for schema in TABLES:
            raw = _read_table(book, schema, table_names)
            if raw is None:
                missing.append(schema)
            else:
                tables[schema.table] = raw
        return RawWorkbook(path, tables, missing, list(book.sheet_names))
    finally:
        book.close()


def _read_table(book: Any, schema: Sheet, table_names: set[str]) -> RawTable | None:
    """Read one schema table: by table name, else the first table on its sheet, else the sheet."""
    name = schema.table if schema.table in table_names else None
    if name is None:
        for candidate in sorted(table_names):
            if book.get_table_by_name(candidate).sheet == schema.name:
                name = candidate
                break
    if name is not None:
        table = book.get_table_by_name(name)
        start_row, start_col = table.start
        headers = list(table.columns)
        data = table.to_python() if table.height else []
        columns = map_headers(schema, headers, start_col)
        rows = raw_rows(data, columns, start_col, first_excel_row=start_row + 1)
        return RawTable(schema, table.sheet, columns, start_row, rows)
    if schema.name not in book.sheet_names:
        return None
    return _read_plain_sheet(book, schema)


def _read_plain_sheet(book: Any, schema: Sheet) -> RawTable | None:
    """Read a sheet whose table was converted to a range: find the header row, read below it."""
    sheet = book.get_sheet_by_name(schema.name)
    data = sheet.to_python(skip_empty_area=False)
    index = find_header_row(schema, data)
    if index is None:
        return None
    columns = map_headers(schema, list(data[index]), 0)
    rows = raw_rows(data[index + 1:], columns, 0, first_excel_row=index + 2)
    return RawTable(schema, schema.name, columns, index + 1, rows, found_as_table=False)


def _refuse_non_ooxml(path: Path) -> None:
    """Give a clear reason for files that are not .xlsx/.xlsm at all."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise WorkbookError(tr(f"Fant ikke {path}.", f"{path} not found.")) from None
    except PermissionError:
        raise WorkbookError(
            tr(f"Har ikke lov til å lese {path.name}.", f"Not allowed to read {path.name}."),
            hint=tr("Sjekk tilgangen til mappen.", "Check your access to the folder."),
        ) from None
    if head.startswith(_OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in path.read_bytes():
            raise _password_error(path)
        raise WorkbookError(
            tr(f"{path.name} er en gammel .xls-fil med feil filendelse.",
               f"{path.name} is an old .xls file with the wrong extension."),
            hint=tr("Åpne den i Excel og lagre som «Excel-arbeidsbok (*.xlsx)».",
                    "Open it in Excel and save it as «Excel Workbook (*.xlsx)»."),
        )
    if not head.startswith(b"PK"):
        raise WorkbookError(
            tr(f"{path.name} er ikke en Excel-arbeidsbok (.xlsx/.xlsm).",
               f"{path.name} is not an Excel workbook (.xlsx/.xlsm)."),
            hint=tr("Lagre filen fra Excel som .xlsx, eller hent en kopi fra .samtale/backups/.",
                    "Save the file from Excel as .xlsx, or restore a copy from .samtale/backups/."),
        )


def _password_error(path: Path) -> WorkbookError:
    return WorkbookError(
        tr(f"{path.name} er beskyttet med passord, og samtale kan ikke lese den.",
           f"{path.name} is password-protected and samtale cannot read it."),
        hint=tr("Fjern passordet i Excel (Fil → Info → Beskytt arbeidsbok → Krypter med passord). "
                "Arkbeskyttelse uten kryptering går fint.",
                "Remove the password in Excel (File → Info → Protect Workbook → Encrypt with "
                "Password). Sheet protection without encryption is fine."),
    )
