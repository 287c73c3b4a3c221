"""The desktop engine's share of the buttons (desktop Excel itself mocked, as in test_macros):
the demo notice first in every message box, and the 校验结果 sheet's layout."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.core.issues import make_issue
from toolkit.core.ledger import Ledger
from toolkit.outputs.fill import issue_sheet
from toolkit.shells import buttons as macros


class _App:
    def __init__(self):
        self.alerts: list[str] = []

    def alert(self, text, **_):
        self.alerts.append(text)


class _DesktopBook:
    class impl:  # noqa: N801 - looks like xlwings' COM Book impl to _is_remote
        pass

    def __init__(self, fullname: Path):
        self.fullname, self.app = str(fullname), _App()


def test_desktop_message_starts_with_the_demo_notice_without_a_config(tmp_path, monkeypatch):
    book = _DesktopBook(tmp_path / "台账工作台.xlsm")
    macros._alert(book, "校验完成。")
    (text,) = book.app.alerts
    assert text.startswith("未找到 taizhang.toml") and text.endswith("校验完成。")


def test_desktop_message_has_no_notice_with_an_office_config(tmp_path):
    (tmp_path / "taizhang.toml").write_text("[paths]\ninbox = 'inbox'\n", encoding="utf-8")
    book = _DesktopBook(tmp_path / "台账工作台.xlsm")       # found beside the workbench
    macros._alert(book, "校验完成。")
    assert book.app.alerts == ["校验完成。"]


class _Range:
    def __init__(self, log, where):
        self.log, self.where = log, where

    def __setattr__(self, name, value):
        if name in ("log", "where"):
            object.__setattr__(self, name, value)
        else:
            self.log.append((name, self.where, value))

    def merge(self):
        self.log.append(("merge", self.where, True))


class _Sheet:
    def __init__(self):
        self.log: list[tuple] = []

    def range(self, *where):
        return _Range(self.log, where)


def test_desktop_result_sheet_gets_widths_wrap_heights_and_the_merged_title():
    long_reason = "交办日期 2010-07-01 早于首次信访时间 2010-08-01。" * 6
    lg = Ledger(path=Path("东村.xlsx"), sheet="台账", village="东村",
                issues=[make_issue("date_order", sheet="台账", cell="H5", row=5, column="交办日期",
                                   value=date(2010, 7, 1), reason=long_reason, file="东村.xlsx")])
    spec = issue_sheet(lg)
    sheet = _Sheet()
    macros.lay_out(sheet, spec, len(spec.rows))
    done = {(name, where) for name, where, _ in sheet.log}
    assert all(("row_height", ((r + 1, 1),)) in done for r in spec.row_heights)
    assert max(spec.row_heights.values()) > 30              # the long text's row is tall
    assert ("merge", (spec.merges[0],)) in done
    assert sum(name == "column_width" for name, _ in done) == len(spec.column_widths)
    assert sum(name == "wrap_text" for name, _ in done) == len(spec.wrap_columns)
