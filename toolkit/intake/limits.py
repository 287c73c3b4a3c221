"""The limits a village's file must stay within before any parser sees it, and why.

- 100 MB on disk: a ledger of a few hundred cases is well under 1 MB; photos
  pasted in stay far below 100 MB.
- 256 MB uncompressed in total, and a ratio of 100:1 for any member that grows
  past 16 MB: real sheet XML compresses 5-20:1; a "zip bomb" compresses 1000:1.
- 200,000 rows, 2,000 columns, 5,000,000 cells (rows x columns of the rectangle
  of cells that hold a value): calamine materialises that rectangle at about
  40 bytes a cell (21 million cells measured at 820 MB), so 5 million cells is
  ~200 MB, inside the 1 GiB a reader may use, while the largest real ledger
  (hundreds of rows, ~60 columns) is four orders of magnitude smaller. Styled
  empty cells and the declared <dimension> are not counted: calamine 0.9 places
  neither (measured: a styled empty XFD1048576 and a dimension of A1:XFD1048576
  read in 16 MB), and WPS and Excel write both on honest ledgers.
- 1,000,000 shared strings: each is a separate string in the parser (about
  50 bytes even when empty); a real ledger has a few thousand (the toolkit's own
  300-village master about 300,000). A table of at most 5 MB cannot hold a
  million (``<si/>`` is 5 bytes); a bigger one is counted, never estimated.
- Lone far values (:mod:`toolkit.intake.farvalues`): a worksheet whose values beyond
  the rectangle above are its only ones but at most 2 (``LONE_NEAR``: a ledger's
  header alone names more) is read without them, with a warning; at most 16 values
  (``LONE_MAX``) are looked at per sheet, so that reading stays bounded. A sheet
  holding more is refused as before.
- Web pages (.xls that is HTML): the same rows, columns and cells, counted from its
  table rows, cells and their spans (colspan clamped at 1,000, rowspan at 65,534, as
  browsers do).
"""
from __future__ import annotations

MAX_FILE_BYTES = 100 * 2**20
MAX_MEMBERS = 5000
MAX_UNCOMPRESSED = 256 * 2**20
MAX_RATIO, RATIO_FLOOR = 100, 16 * 2**20
MAX_ROWS, MAX_COLUMNS, MAX_CELLS = 200_000, 2_000, 5_000_000
MAX_SHARED_STRINGS = 1_000_000
LONE_NEAR, LONE_MAX = 2, 16
DAMAGED = "文件已损坏或不完整（可能下载或传输中断），请重新保存后报送"


class Refused(Exception):
    """Pre-flight's verdict on a file: an issue code and the reason, in Chinese."""

    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code, self.reason = code, reason
