"""Excel's own AutoFilter on one table of the open book, for «Mine samtaler».

xlwings offers no filter of its own, so this is the one place the buttons reach through xlwings'
`.api` to Excel's object model (ListObject.Range.AutoFilter with xlFilterValues, Windows Excel).
It is the one part of the buttons no test here can run: the stand-in has no `.api`.
"""

from __future__ import annotations

from typing import Any

from samtale_automation.domain.rows import normalise_header
from samtale_automation.domain.schema import TABLE_BY_NAME
from samtale_automation.workbook.live import locate_table

XL_FILTER_VALUES = 7
#: A value no ID has: filtering on it shows no rows (AutoFilter refuses an empty list).
NO_ROWS = "\u2205"


def filter_column(headers: list[Any], table_name: str, key_field: str) -> int | None:
    """The 1-based column of the table that holds `key_field`, as AutoFilter counts (None when missing)."""
    wanted = normalise_header(TABLE_BY_NAME[table_name].column(key_field).header)
    return next((i for i, h in enumerate(headers, start=1) if normalise_header(h) == wanted), None)


def filter_table(book: Any, table_name: str, key_field: str, keys: set[str]) -> int:
    """Filter one table to the rows whose key is in `keys`; return how many keys were asked for."""
    found = locate_table(book.sheets, TABLE_BY_NAME[table_name])
    if found is None:
        return 0
    _, table = found
    index = filter_column(table.range.options(ndim=2).value[0], table_name, key_field)
    if index is None:
        return 0
    table.api.Range.AutoFilter(Field=index, Criteria1=sorted(keys) or [NO_ROWS], Operator=XL_FILTER_VALUES)
    return len(keys)
