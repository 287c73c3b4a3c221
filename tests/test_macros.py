"""The Excel button handlers, driven through xlwings' remote interpreter.

Real parts: ledger workbooks written by tests/factories/ledgers.py, read back with
python-calamine into the JSON xlwings' VBA client sends (toolkit.shells.server.vba_payload),
``xw.Book(json=...)`` with ``set_mock_caller()``, the handlers called with no
argument as RunPython calls them, and the actions xlwings returns.

The only mock is desktop Excel itself: ``VbaClient`` applies the returned actions
to the payload the way toolkit/shells/vba/xlwings/Remote.bas does (including its ISO-date
parsing of every text it writes), so a second click sees what the first one left.
"""
from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path

import pytest

from toolkit.core import fields as F
from toolkit.shells import buttons as macros
from toolkit.core.cells import cell_ref, column_index
from factories.ledgers import LedgerStyle, make_ledger
from toolkit.shells.server import ensure_remote_engine, vba_payload

AS_OF = date(2010, 10, 20)
REMOTE_BAS = Path(macros.__file__).parent / "vba" / "xlwings" / "Remote.bas"
FAULTS = ("id_as_number", "impossible_date", "unknown_status", "invalid_tick", "archive_incomplete")


# --- a mock of desktop Excel's VBA client ---------------------------------------------------
def client_actions() -> set[str]:
    return set(re.findall(r"^Sub (\w+)\(wb As Workbook, action As Dictionary\)",
                          REMOTE_BAS.read_text(encoding="ascii"), re.M))


def _cint(s: str) -> int | None:
    return int(round(float(s))) if re.fullmatch(r"\s*[+-]?\d+(\.\d+)?\s*", s) else None


def parse_iso(s: str):
    """WebHelpers.ParseIso as setValues uses it: text split on "T", the date part on
    "-", DateSerial of the first three parts when each is CInt-able."""
    parts = s.split("T")[0].split("-")
    if len(parts) < 3:
        return None
    nums = [_cint(p) for p in parts[:3]]
    if None in nums:
        return None
    y, m, d = nums
    try:
        return date(y, m, d)
    except ValueError:
        return "overflowed-date"


_EXCEL_WOULD_CONVERT = re.compile(r"^\s*([=+\-@]|[\d.,]+\s*%?$|\d+\s*[/:-]\s*\d+|true$|false$)", re.I)


class VbaClient:
    """Applies actions like Remote.bas, to a payload (a mock of desktop Excel)."""

    def __init__(self, payload: dict):
        self.payload = copy.deepcopy(payload)
        self.fills: dict[tuple[str, str], str] = {}
        self.formats: dict[tuple[str, str], str] = {}
        self.links: dict[tuple[str, str], str] = {}
        self.alerts: list[tuple[str, str]] = []
        self.converted: list[object] = []       # texts Excel would have turned into something else

    @property
    def sheets(self) -> list[dict]:
        return self.payload["sheets"]

    def sheet(self, name: str) -> dict:
        return next(s for s in self.sheets if s["name"] == name)

    def apply(self, actions: list[dict]) -> "VbaClient":
        supported = client_actions()
        for a in actions:
            assert a["func"] in supported, a["func"]
            getattr(self, a["func"])(a)
        return self

    def _cells(self, a: dict) -> list[str]:
        return [cell_ref(a["start_column"] + c, a["start_row"] + 1 + r)
                for r in range(a["row_count"]) for c in range(a["column_count"])]

    def _name(self, a: dict) -> str:
        return self.sheets[a["sheet_position"]]["name"]

    def setValues(self, a):  # noqa: N802
        grid = self.sheets[a["sheet_position"]]["values"]
        for r, row in enumerate(a["values"]):
            for c, v in enumerate(row):
                rr, cc = a["start_row"] + r, a["start_column"] + c
                while len(grid) <= rr:
                    grid.append([])
                if grid == [[]] or not grid[0] and rr == 0:
                    pass
                width = max(len(x) for x in grid)
                for x in grid:
                    x.extend([None] * (max(width, cc + 1) - len(x)))
                grid[rr][cc] = self._entered(v)

    def _entered(self, v):
        if isinstance(v, str):
            d = parse_iso(v)
            if d is not None:          # the client made a date of it
                return f"{d.isoformat()}T00:00:00.000Z" if isinstance(d, date) else d
            if v.startswith("'"):
                return v[1:]
            if v == "":
                return None
            if _EXCEL_WOULD_CONVERT.match(v):
                self.converted.append(v)
            return v
        return v

    def setRangeColor(self, a):  # noqa: N802
        for ref in self._cells(a):
            self.fills[(self._name(a), ref)] = a["args"][0]

    def setNumberFormat(self, a):  # noqa: N802
        for ref in self._cells(a):
            self.formats[(self._name(a), ref)] = a["args"][0]

    def addHyperlink(self, a):  # noqa: N802
        self.links[(self._name(a), self._cells(a)[0])] = a["args"][0]

    def setAutofit(self, a):  # noqa: N802
        assert a["args"][0] in ("columns", "rows")

    def addSheet(self, a):  # noqa: N802
        # wb.Sheets.Add puts the sheet before the active one; then Move After:=Worksheets(n + 1)
        active = self.payload["book"]["active_sheet_index"]
        new = {"name": a["args"][1], "pictures": [], "tables": [], "values": [[]]}
        self.sheets.insert(active, new)
        anchor = self.sheets[a["args"][0]]
        self.sheets.remove(new)
        self.sheets.insert(self.sheets.index(anchor) + 1, new)
        self.payload["book"]["active_sheet_index"] = self.sheets.index(new)

    def sheetClear(self, a):  # noqa: N802
        name = self._name(a)
        self.sheets[a["sheet_position"]]["values"] = [[]]
        for key in [k for k in self.fills if k[0] == name]:
            del self.fills[key]

    def activateSheet(self, a):  # noqa: N802
        self.payload["book"]["active_sheet_index"] = a["args"][0]

    def runMacro(self, a):  # noqa: N802
        assert a["args"][0] == macros.CLEAR_FILL_MACRO
        sheet, address = a["args"][1], a["args"][2]
        first, _, last = address.partition(":")
        (c0, r0), (c1, r1) = _rc(first), _rc(last or first)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                self.fills.pop((sheet, cell_ref(c, r)), None)

    def alert(self, a):
        self.alerts.append((a["args"][0], a["args"][3]))

    def value(self, sheet: str, ref: str):
        c, r = _rc(ref)
        grid = self.sheet(sheet)["values"]
        return grid[r - 1][c] if r - 1 < len(grid) and c < len(grid[r - 1]) else None


def _rc(ref: str) -> tuple[int, int]:
    letters, digits = re.fullmatch(r"([A-Z]+)(\d+)", ref).groups()
    return column_index(letters), int(digits)


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture
def xw(monkeypatch, tmp_path):
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    cfg = tmp_path / "taizhang.toml"
    cfg.write_text(
        "[paths]\n"
        f"inbox = '{(tmp_path / 'inbox').as_posix()}'\n"
        f"master = '{(tmp_path / 'out' / '总台账.xlsx').as_posix()}'\n"
        f"archive = '{(tmp_path / 'archive').as_posix()}'\n"
        f"logs = '{(tmp_path / 'logs').as_posix()}'\n"
        f"state = '{(tmp_path / 'state').as_posix()}'\n"
        f"settings_workbook = '{(tmp_path / 'absent.xlsx').as_posix()}'\n"
        "[daily]\nas_of = '2010-10-20'\n", encoding="utf-8")
    monkeypatch.setenv("TAIZHANG_CONFIG", str(cfg))
    module = ensure_remote_engine()
    yield module
    if hasattr(module.Book, "_mock_caller"):
        del module.Book._mock_caller


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("buttons")
    return make_ledger(folder / "东村台账.xlsx", village="东村", n_cases=24, seed=3,
                       layout=LedgerStyle(faults=FAULTS))


def click(xw, handler, payload: dict) -> dict:
    """One button press: the book the client sent becomes the caller; RunPython calls the
    handler with no argument."""
    book = xw.Book(json=copy.deepcopy(payload))
    book.set_mock_caller()
    getattr(macros, handler)()
    out = book.json()
    book.close()
    return out


def remote_only(actions: list[dict]) -> None:
    funcs = {a["func"] for a in actions}
    assert funcs <= macros.REMOTE_ACTIONS, funcs - macros.REMOTE_ACTIONS
    assert macros.REMOTE_ACTIONS <= client_actions()


# --- 校验本表 ---------------------------------------------------------------------------------
def test_validate_colours_the_fault_cells_and_writes_the_result_sheet(xw, ledger_file):
    payload = vba_payload(ledger_file.path, active_sheet=ledger_file.sheet)
    out = click(xw, "validate_active_sheet", payload)
    remote_only(out["actions"])
    client = VbaClient(payload).apply(out["actions"])

    sheet = ledger_file.sheet
    spots = ledger_file.faults
    for fault in ("id_as_number", "impossible_date", "unknown_status", "archive_incomplete"):
        assert client.fills.get((sheet, spots[fault].cell)) == "#FF9999", fault
    assert client.fills[(sheet, spots["invalid_tick"].cell)] == "#FFFF66"
    # nothing but problem cells is painted on the ledger sheet
    painted = {ref for (s, ref) in client.fills if s == sheet}
    assert {spots[f].cell for f in ("id_as_number", "impossible_date", "unknown_status",
                                     "invalid_tick")} <= painted
    assert len(painted) < 15

    names = [s["name"] for s in client.sheets]
    assert names == [sheet, macros.RESULT_SHEET]
    listed = [client.value(macros.RESULT_SHEET, f"A{r}") for r in range(3, 40)]
    for fault in ("id_as_number", "impossible_date", "unknown_status", "invalid_tick"):
        assert spots[fault].cell in listed
    row = listed.index(spots["unknown_status"].cell) + 3
    assert client.value(macros.RESULT_SHEET, f"B{row}") == "错误"
    assert "基本化解" in client.value(macros.RESULT_SHEET, f"C{row}")
    assert client.value(macros.RESULT_SHEET, f"D{row}").startswith("请")
    assert client.links[(macros.RESULT_SHEET, f"A{row}")] == f"#'{sheet}'!{spots['unknown_status'].cell}"
    assert client.converted == []
    assert client.payload["book"]["active_sheet_index"] == 0      # back on the ledger
    (text, mode), = client.alerts
    assert mode == "info" and "个错误" in text and "校验结果" in text


def test_second_click_restores_corrected_cells_and_keeps_the_rest(xw, ledger_file):
    payload = vba_payload(ledger_file.path, active_sheet=ledger_file.sheet)
    client = VbaClient(payload).apply(click(xw, "validate_active_sheet", payload)["actions"])
    sheet = ledger_file.sheet
    fixed = ledger_file.faults["unknown_status"].cell
    still = ledger_file.faults["impossible_date"].cell
    c, r = _rc(fixed)
    client.sheet(sheet)["values"][r - 1][c] = "化解中"            # the clerk corrects one cell
    client.payload["book"]["active_sheet_index"] = 0

    second = click(xw, "validate_active_sheet", client.payload)
    remote_only(second["actions"])
    restores = [a for a in second["actions"] if a["func"] == "runMacro"]
    assert [a["args"][1:] for a in restores] == [[sheet, fixed]]
    client.apply(second["actions"])
    assert (sheet, fixed) not in client.fills
    assert client.fills[(sheet, still)] == "#FF9999"
    assert [s["name"] for s in client.sheets].count(macros.RESULT_SHEET) == 1
    records = macros._read_records(_book(xw, client.payload))
    assert (sheet, still, macros.UNKNOWN_FILL, "#FF9999") in records
    assert all(cell != fixed for _, cell, _, _ in records)
    assert any("已恢复原底色" in t for t, _ in client.alerts)


def _book(xw, payload):
    return xw.Book(json=copy.deepcopy(payload))


def test_text_that_looks_like_a_date_stays_text(xw, tmp_path):
    """Case numbers 2010-07-001 would become dates in the client's setValues."""
    sample = make_ledger(tmp_path / "西村.xlsx", village="西村", n_cases=6, prefix="2010-07-",
                         layout=LedgerStyle(faults=("unknown_status",)))
    payload = vba_payload(sample.path, active_sheet=sample.sheet)
    out = click(xw, "validate_active_sheet", payload)
    texts = [v for a in out["actions"] if a["func"] == "setValues" for row in a["values"]
             for v in row if isinstance(v, str) and v]
    assert texts and all(t.startswith("'") for t in texts)
    client = VbaClient(payload).apply(out["actions"])
    case_col = [client.value(macros.RESULT_SHEET, f"E{r}") for r in range(3, 6)]
    assert sample.faults["unknown_status"].case_id in case_col
    assert all(not str(v).endswith("Z") for v in case_col if v)
    assert client.converted == []


def test_button_on_the_control_sheet_uses_the_first_ledger_sheet(xw, ledger_file):
    payload = vba_payload(ledger_file.path, active_sheet=ledger_file.sheet)
    control = {"name": macros.CONTROL_SHEET, "pictures": [], "tables": [],
               "values": [["信访积案台账工作台", None]]}
    payload["sheets"].insert(0, control)
    payload["book"]["active_sheet_index"] = 0
    client = VbaClient(payload).apply(click(xw, "validate_active_sheet", payload)["actions"])
    assert (ledger_file.sheet, ledger_file.faults["unknown_status"].cell) in client.fills
    assert client.payload["book"]["active_sheet_index"] == 1


def test_no_ledger_sheet_is_a_plain_chinese_alert(xw):
    payload = {"client": "VBA", "version": xw.__version__, "names": [],
               "book": {"name": "台账工作台.xlsm", "active_sheet_index": 0, "selection": "A1"},
               "sheets": [{"name": macros.CONTROL_SHEET, "pictures": [], "tables": [],
                           "values": [["信访积案台账工作台"]]},
                          {"name": macros.CONF_SHEET, "pictures": [], "tables": [],
                           "values": [["Interpreter_Win", "python"]]}]}
    out = click(xw, "validate_active_sheet", payload)
    (alert,) = out["actions"]
    assert alert["func"] == "alert" and alert["args"][3] == "critical"
    assert "移动或复制" in alert["args"][0] and "Traceback" not in alert["args"][0]


def test_a_sheet_without_a_header_is_refused_politely(xw):
    payload = {"client": "VBA", "version": xw.__version__, "names": [],
               "book": {"name": "杂表.xlsx", "active_sheet_index": 0, "selection": "A1"},
               "sheets": [{"name": "Sheet1", "pictures": [], "tables": [],
                           "values": [["姓名", "金额"], ["张三", 5]]}]}
    (alert,) = click(xw, "fill_active_sheet", payload)["actions"]
    assert "不像台账" in alert["args"][0]


def test_unexpected_error_is_an_alert_and_a_log(xw, ledger_file, monkeypatch, tmp_path):
    import toolkit.pipeline.check

    def boom(*a, **k):
        raise ValueError("模拟故障")
    monkeypatch.setattr(toolkit.pipeline.check, "validate_ledgers", boom)
    payload = vba_payload(ledger_file.path, active_sheet=ledger_file.sheet)
    (alert,) = click(xw, "validate_active_sheet", payload)["actions"]
    assert alert["func"] == "alert" and alert["args"][3] == "critical"
    assert "模拟故障" in alert["args"][0] and "技术支持" in alert["args"][0]
    log = (tmp_path / "logs" / "buttons.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "模拟故障" in log


# --- 计算期限 ---------------------------------------------------------------------------------
def test_fill_appends_the_computed_columns_like_the_file_fill(xw, ledger_file):
    from toolkit.compute.cases import compute_cases
    from toolkit.read.workbook import read_ledger
    from toolkit.core.settings import DEFAULT_SETTINGS

    payload = vba_payload(ledger_file.path, active_sheet=ledger_file.sheet)
    out = click(xw, "fill_active_sheet", payload)
    remote_only(out["actions"])
    client = VbaClient(payload).apply(out["actions"])
    assert client.converted == []

    ledger = read_ledger(ledger_file.path)
    expected, _ = compute_cases(ledger.cases, as_of=AS_OF, settings=DEFAULT_SETTINGS)
    sheet, head = ledger_file.sheet, ledger.header_rows[-1]
    first = ledger.last_column + 1
    headers = [client.value(sheet, cell_ref(first + i, head)) for i in range(len(F.COMPUTED))]
    assert headers == [c.header for c in F.COMPUTED]
    assert client.value(sheet, cell_ref(first, ledger.header_rows[0])) == F.COMPUTED_GROUP_HEADER
    col = {c.key: first + i for i, c in enumerate(F.COMPUTED)}
    for row in ledger.cases.index:
        deadline = expected.at[row, "deadline"]
        got = client.value(sheet, cell_ref(col["deadline"], row))
        assert got == (f"{deadline.isoformat()}T00:00:00.000Z" if deadline else None)
        assert client.value(sheet, cell_ref(col["alert"], row)) == (expected.at[row, "alert"] or None)
        assert client.value(sheet, cell_ref(col["nine_done"], row)) == expected.at[row, "nine_done"]
        left = expected.at[row, "workdays_left"]
        assert client.value(sheet, cell_ref(col["workdays_left"], row)) == (None if left is None
                                                                           else int(left))
        assert client.formats[(sheet, cell_ref(col["deadline"], row))] == "yyyy-mm-dd"
        if expected.at[row, "alert"] == F.ALERT_OVERDUE:
            assert client.fills[(sheet, cell_ref(col["alert"], row))] == "#FFC7CE"
    # the clerk's own cells are untouched
    for r, row in enumerate(payload["sheets"][0]["values"]):
        assert client.sheet(sheet)["values"][r][:first] == row[:first]

    # a second click reuses the columns now present, adds none
    client.payload["book"]["active_sheet_index"] = 0
    again = click(xw, "fill_active_sheet", client.payload)
    header_writes = [a for a in again["actions"] if a["func"] == "setValues"
                     and a["start_row"] + 1 in ledger.header_rows]
    assert header_writes == []
    after = VbaClient(client.payload).apply(again["actions"])
    assert after.sheet(sheet)["values"] == client.sheet(sheet)["values"]


def test_fill_reuses_the_template_columns(xw, tmp_path):
    sample = make_ledger(tmp_path / "南村.xlsx", village="南村", n_cases=5,
                         layout=LedgerStyle(template=True))
    payload = vba_payload(sample.path, active_sheet=sample.sheet)
    out = click(xw, "fill_active_sheet", payload)
    writes = [a for a in out["actions"] if a["func"] == "setValues"]
    assert writes and all(a["start_row"] + 1 >= sample.rows[0] for a in writes)   # no headers
    assert min(a["start_column"] for a in writes) == sample.columns["deadline"]
    (alert,) = [a for a in out["actions"] if a["func"] == "alert"]
    assert "新增" not in alert["args"][0] and "5 件案件" in alert["args"][0]


# --- reading a sheet from values ---------------------------------------------------------------
@pytest.mark.parametrize("layout", [
    LedgerStyle(faults=FAULTS),
    LedgerStyle(grouped=False, variants=True, messy_headers=True, dates="mixed", ticks="mixed",
                phone_as_number=True, blank_rows=True, footer=True),
    LedgerStyle(template=True),
], ids=["grouped", "flat-messy", "template"])
def test_values_from_the_client_read_like_the_file(xw, tmp_path, layout):
    from toolkit.read.workbook import read_ledger

    sample = make_ledger(tmp_path / "北村.xlsx", village="北村", n_cases=12, seed=5, layout=layout)
    from_file = read_ledger(sample.path)
    payload = vba_payload(sample.path, active_sheet=sample.sheet)
    book = xw.Book(json=payload)
    grid = macros.read_grid(book.sheets[sample.sheet])
    marker = (macros.read_grid(book.sheets[F.TEMPLATE_MARKER_SHEET])
              if F.TEMPLATE_MARKER_SHEET in [s.name for s in book.sheets] else None)
    from_values = macros.ledger_from_values(sample.path.name, sample.sheet, grid, marker)
    book.close()
    assert from_values.columns == from_file.columns
    assert from_values.header_rows == from_file.header_rows
    assert (from_values.village, from_values.village_source) == (from_file.village,
                                                                 from_file.village_source)
    assert from_values.cases.index.tolist() == from_file.cases.index.tolist()
    assert from_values.cases.equals(from_file.cases)
    def codes(lg):
        return sorted((i.code, i.cell) for i in lg.issues if i.code != "macros_present")
    assert codes(from_values) == codes(from_file)


def test_an_id_number_kept_as_text_arrives_as_text(xw):
    """VBA-JSON sends a 16+ digit text unquoted; it must not look like a number cell."""
    assert macros._grid_value(330302197001011234) == "330302197001011234"
    assert macros._grid_value(3.30302197001011e17) == 3.30302197001011e17
    assert macros._grid_value(40360) == 40360
    assert macros._grid_value(None) == ""


def test_cell_values_are_written_safely():
    assert macros.cell_value("6/8") == "'6/8"
    assert macros.cell_value("'quoted") == "''quoted"
    assert macros.cell_value("") is None and macros.cell_value(None) is None
    assert macros.cell_value(date(2010, 9, 25)) == date(2010, 9, 25)
    assert macros.cell_value(-3) == -3
    assert parse_iso("'2010-07-01") is None and parse_iso("2010-07-01") == date(2010, 7, 1)


# --- the desktop engine's colour bookkeeping (Excel itself mocked) -----------------------------
class _Range:
    def __init__(self, cells, ref):
        self.cells, self.ref = cells, ref

    @property
    def color(self):
        return self.cells.get(self.ref)

    @color.setter
    def color(self, value):
        self.cells[self.ref] = None if value is None else tuple(
            int(value[i:i + 2], 16) for i in (1, 3, 5))


class _Sheet:
    name = "台账"

    def __init__(self, cells):
        self.cells = cells

    def range(self, ref):
        return _Range(self.cells, ref)


class _DesktopBook:
    class impl:  # noqa: N801 - looks like xlwings' COM Book impl to _is_remote
        pass


def test_desktop_restore_puts_back_the_clerks_own_fill_only_if_still_ours():
    cells = {"D5": (0xFF, 0x99, 0x99), "E5": (0x00, 0x80, 0x00), "F5": (0xFF, 0x99, 0x99)}
    sheet, book = _Sheet(cells), _DesktopBook()
    assert macros._read_fill(sheet.range("D5")) == "#FF9999"
    assert macros._restore_fill(book, sheet, "D5", "#FFFF00", "#FF9999")      # clerk's yellow back
    assert cells["D5"] == (0xFF, 0xFF, 0x00)
    assert not macros._restore_fill(book, sheet, "E5", macros.NO_FILL, "#FF9999")  # changed by clerk
    assert cells["E5"] == (0x00, 0x80, 0x00)
    assert macros._restore_fill(book, sheet, "F5", macros.NO_FILL, "#FF9999")
    assert cells["F5"] is None


# --- 一键汇总 and 检查安装 ------------------------------------------------------------------------
def test_consolidate_all_reports_where_the_master_is(xw, tmp_path):
    from python_calamine import CalamineWorkbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_ledger(inbox / "东村台账.xlsx", village="东村", n_cases=6, seed=1)
    make_ledger(inbox / "西村台账.xlsx", village="西村", n_cases=4, seed=2, first_number=50)
    payload = {"client": "VBA", "version": xw.__version__, "names": [],
               "book": {"name": "台账工作台.xlsm", "active_sheet_index": 0, "selection": "A1"},
               "sheets": [{"name": macros.CONTROL_SHEET, "pictures": [], "tables": [],
                           "values": [["信访积案台账工作台"]]}]}
    (alert,) = click(xw, "consolidate_all", payload)["actions"]
    text = alert["args"][0]
    master = tmp_path / "out" / "总台账.xlsx"
    assert alert["args"][3] == "info" and str(master) in text and "共 10 件" in text
    with CalamineWorkbook.from_path(str(master)) as wb:
        assert wb.sheet_names


def test_check_setup_names_python_and_the_config(xw, tmp_path):
    payload = {"client": "VBA", "version": xw.__version__, "names": [],
               "book": {"name": "台账工作台.xlsm", "active_sheet_index": 0, "selection": "A1"},
               "sheets": [{"name": macros.CONTROL_SHEET, "pictures": [], "tables": [], "values": [[]]}]}
    (alert,) = click(xw, "check_setup", payload)["actions"]
    assert "Python" in alert["args"][0] and str(tmp_path / "taizhang.toml") in alert["args"][0]
    text = alert["args"][0]                 # api.doctor's report, verdict and problems first
    assert "有 1 处问题" in text and f"[问题] 收件箱：{tmp_path / 'inbox'}（不存在" in text
    assert alert["args"][3] == "critical" and "[注意] 设置工作簿" in text


def test_a_used_range_far_beyond_the_cases_is_refused(xw):
    values = [["案件编号", "信访人"]] + [[None, None]] * (macros.MAX_ROWS + 5)
    payload = {"client": "VBA", "version": xw.__version__, "names": [],
               "book": {"name": "东村.xlsx", "active_sheet_index": 0, "selection": "A1"},
               "sheets": [{"name": "台账", "pictures": [], "tables": [], "values": values}]}
    (alert,) = click(xw, "validate_active_sheet", payload)["actions"]
    assert "已用区域太大" in alert["args"][0] and alert["args"][3] == "critical"
