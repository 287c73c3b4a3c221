"""报送方式: the printable sheet of the office page's links, one row per village.

A link's token is known only when it is made (``pipeline/links.py`` keeps its hash), so the
sheet lists the address of each link made in this run; a village whose link was made earlier
is listed with the day it was made and what to do if its sheet is lost.
"""
from __future__ import annotations

from pathlib import Path

from toolkit.core.files import atomic_path
from toolkit.outputs.reminder import printable_table, table_formats

SHEET = "报送方式"
HEADERS = ("序号", "村（社区）", "网页报送地址（在浏览器中打开）", "说明")
WIDTHS = (5, 12, 70, 40)


def write_links_sheet(path: Path, rows: list[tuple[str, str, str]], *, township: str) -> Path:
    """``rows``: (village, address or "", note). Written atomically."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        head, cell, title = table_formats(wb)
        table = [[str(n), village, url, note] for n, (village, url, note) in enumerate(rows, start=1)]
        printable_table(wb.add_worksheet(SHEET), f"{township}信访积案台账网页报送方式（每村一个地址，请勿转给他人）",
                        HEADERS, table, WIDTHS, head, cell, title)
        wb.close()
    return path
