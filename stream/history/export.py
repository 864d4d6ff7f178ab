"""Tables as CSV or XLSX files (openpyxl): the reports page's exports and the daily report.

A table is a title, its column keys, a header per language and rows (dicts);
nested values (time per reason) are flattened into ``key.sub`` columns.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable, Optional, Sequence


def flatten(rows: Iterable[dict]) -> tuple[list[str], list[dict]]:
    """Rows with dict values spread into ``key.sub`` columns; the columns in first-seen order."""
    cols: dict[str, None] = {}
    out = []
    for r in rows:
        flat = {}
        for k, v in r.items():
            if isinstance(v, dict):
                for sk, sv in v.items():
                    flat[f"{k}.{sk}"] = sv
            else:
                flat[k] = v
        for k in flat:
            cols.setdefault(k, None)
        out.append(flat)
    return list(cols), out


def to_csv(rows: Sequence[dict], columns: Optional[Sequence[str]] = None) -> bytes:
    cols, flat = flatten(rows)
    cols = list(columns) if columns else cols
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for r in flat:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
    # With a BOM, Excel opens the UTF-8 (Chinese labels) correctly.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[tuple[str, Sequence[dict]]], headers: Optional[dict[str, str]] = None) -> bytes:
    """One sheet per (title, rows); ``headers`` relabels column keys (e.g. in Chinese)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(_sheet_title(title))
        cols, flat = flatten(rows)
        ws.append([(headers or {}).get(c, c) for c in cols])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r in flat:
            ws.append([r.get(c) for c in cols])
        for i, c in enumerate(cols, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(ws.cell(1, i).value)) + 2))
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_title(t: str) -> str:
    bad = '[]:*?/\\'
    return "".join("_" if ch in bad else ch for ch in t)[:31] or "Sheet"
