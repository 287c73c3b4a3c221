"""Build the control workbook 台账工作台.xlsm: buttons bound to VBA macros that call
``toolkit.shells.buttons`` through xlwings.

The workbook is generated, never edited by hand, from sources in this repository:

* the sheets, the buttons and the ``xlwings.conf`` sheet come from this module
  (xlsxwriter: ``insert_button`` writes form buttons bound to macros into the
  sheet's VML drawing);
* the VBA comes from text files under ``toolkit/shells/vba/``: our ``Taizhang.bas``
  (the button macros, ASCII-only) and xlwings' own BSD/MIT modules, vendored
  unchanged (``toolkit/shells/vba/xlwings/``);
* pyOpenVBA (pure Python, MIT) turns those texts into the ``vbaProject.bin``:
  it writes MS-OVBA compressed module source with no compiled p-code, so Excel
  compiles the text on first open, and it gives the project the document
  modules Excel itself would (ThisWorkbook, Sheet1..n) and Excel's default
  references (stdole, Office).

Two passes keep each tool on the part it is good at: pass 1 writes the workbook
without VBA and lets pyOpenVBA add a project to it (so the document modules match
the sheets); pass 2 writes the same workbook again with xlsxwriter's
``add_vba_project`` around that ``vbaProject.bin``, which gives the macro-enabled
content types, the code names and the button bindings exactly as xlsxwriter
documents them. Finally the modules are read back from the finished workbook and
compared with the sources: the bin never holds anything but these texts (oletools' olevba,
an independent reader, checks the same in the tests; the product does not need it).
"""
from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from toolkit.core.config import WORKBOOKS
from toolkit.core.files import atomic_path

WORKBENCH = WORKBOOKS / "台账工作台.xlsm"     # the committed one, in a checkout
VBA_DIR = Path(__file__).resolve().parent / "vba"
CONTROL_SHEET = "工作台"
CONF_SHEET = "xlwings.conf"
FIXED_CREATED = datetime(2010, 5, 17, 9, 0, 0)   # reproducible docProps (same as the template)


@dataclass(frozen=True)
class VbaModule:
    name: str
    file: str              # relative to toolkit/shells/vba
    kind: str              # "standard" | "class"

    @property
    def path(self) -> Path:
        return VBA_DIR / self.file


# The modules of the project, in the order they are added. xlwings' own set is what
# `xlwings quickstart NAME --standalone --server` puts into a workbook.
VBA_MODULES: tuple[VbaModule, ...] = (
    VbaModule("xlwings", "xlwings/xlwings.bas", "standard"),
    VbaModule("Dictionary", "xlwings/Dictionary.cls", "class"),
    VbaModule("Remote", "xlwings/Remote.bas", "standard"),
    VbaModule("IWebAuthenticator", "xlwings/IWebAuthenticator.cls", "class"),
    VbaModule("WebClient", "xlwings/WebClient.cls", "class"),
    VbaModule("WebRequest", "xlwings/WebRequest.cls", "class"),
    VbaModule("WebResponse", "xlwings/WebResponse.cls", "class"),
    VbaModule("WebHelpers", "xlwings/WebHelpers.bas", "standard"),
    VbaModule("Taizhang", "Taizhang.bas", "standard"),
)


@dataclass(frozen=True)
class Button:
    caption: str
    macro: str             # ASCII: a Sub in Taizhang.bas
    handler: str           # the function in toolkit/macros.py it runs
    cell: str
    what: str              # one line for the control sheet


BUTTONS: tuple[Button, ...] = (
    Button("校验本表", "TZ_Validate", "validate_active_sheet", "B5",
           "检查当前台账工作表：有错误的单元格标红、需留意的标黄，并生成（或刷新）“校验结果”表，"
           "逐条列出单元格位置、问题和改法。再按一次会先恢复上次标色的单元格。"),
    Button("计算期限", "TZ_Fill", "fill_active_sheet", "B9",
           "在当前台账表最右侧填入（或更新）系统计算列：办结期限、剩余工作日、预警、九个一/五包/"
           "六清楚/六有完成情况、缺项、可否销号等。不改动任何手填内容。"),
    Button("一键汇总", "TZ_Consolidate", "consolidate_all", "B13",
           "读取配置的收件箱（各村报来的台账），校验、计算并生成乡级总台账，弹窗告诉您总台账的位置、"
           "案件数、预警和问题数。"),
    Button("检查安装", "TZ_CheckSetup", "check_setup", "B17",
           "首次使用时按一下：显示本机 Python、工具包和配置文件的位置，确认按钮能正常工作。"),
)

# xlwings' own settings sheet, as in its quickstart workbook: keys from A1 down to the
# first blank key cell (xlwings upper-cases them). Booleans must be real FALSE/TRUE:
# xlwings compares them with True, and an empty cell there is a VBA type error.
CONF_DEFAULTS: tuple[tuple[str, object], ...] = (
    ("Interpreter_Win", "python"),
    ("Interpreter_Mac", ""),
    ("PYTHONPATH", ""),
    ("Conda Path", ""),
    ("Conda Env", ""),
    ("UDF Modules", ""),
    ("Debug UDFs", False),
    ("Use UDF Server", False),
    ("Show Console", False),
)

CONF_NOTES = (
    "说明：",
    "本表是 xlwings 的设置，必须从 A1 开始、键名在 A 列、值在 B 列，中间不能有空行。",
    "Interpreter_Win：本机 python.exe（或 pythonw.exe）的完整路径，例如 "
    r"C:\taizhang\.venv\Scripts\pythonw.exe；可用 %USERPROFILE% 等环境变量。填 python 表示用 PATH 里的 Python。",
    "PYTHONPATH：若未用 pip 安装 taizhang 工具包，填工具包所在文件夹（含 toolkit 子文件夹的那一层），多个用分号隔开。",
    "TAIZHANG_SERVER（可选，一般不写在本表）：乡里服务器地址，如 http://192.0.2.10:8765。"
    "写了它，按钮改为把本工作簿发到服务器处理，本机不需要 Python。",
    r"服务器口令不要写在本表：请写在 %USERPROFILE%\.xlwings\xlwings.conf 文件里，一行：\"AUTH\",\"Bearer 口令\"。",
    "删掉某一行，xlwings 会改用同文件夹的 xlwings.conf 文件或用户目录下的设置。",
)


@dataclass(frozen=True)
class ConfOptions:
    interpreter: str = "python"
    pythonpath: str = ""
    server: str = ""


# --- VBA sources -------------------------------------------------------------------
CLASS_BASE = 'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"'
_CLASS_PREAMBLE = re.compile(r"\AVERSION [^\r\n]*\r?\nBEGIN\r?\n.*?^END\r?\n", re.S | re.M)


def module_source(module: VbaModule) -> str:
    """The module text as kept in the repository (CRLF line ends)."""
    raw = module.path.read_bytes().decode("ascii")
    return "\r\n".join(raw.splitlines()) + "\r\n"


def stream_source(module: VbaModule) -> str:
    """The module text as the VBA project stores it ([MS-OVBA] 2.3.4.3): a .cls export's
    VERSION/BEGIN..END preamble is not stored, and a class module carries the
    ``VB_Base`` attribute of a plain class right after its name."""
    text = module_source(module)
    if module.kind == "class":
        text = _CLASS_PREAMBLE.sub("", text, count=1)
        text = re.sub(r'^(Attribute VB_Name = "[^"]*"\r\n)', lambda m: m.group(1) + CLASS_BASE + "\r\n",
                      text, count=1, flags=re.M)
    return text


def normalize_vba(text: str) -> str:
    """Module text with LF line ends and no trailing blank lines (nothing else changed)."""
    lines = [ln.rstrip("\r") for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def macro_names() -> list[str]:
    """Public Subs of Taizhang.bas (the macros buttons may be bound to)."""
    text = module_source(next(m for m in VBA_MODULES if m.name == "Taizhang"))
    return re.findall(r"^Public Sub (\w+)\(\)", text, re.M)


# --- building ----------------------------------------------------------------------
def default_workbench(cfg) -> Path:
    """Where `taizhang workbench` writes without --out: beside taizhang.toml; for the demo,
    the committed copy's place in a checkout, else the current folder (never site-packages)."""
    if cfg.source is not None:
        return Path(cfg.source).parent / WORKBENCH.name
    if WORKBOOKS.is_dir() and (WORKBOOKS.parent / "run_daily.py").is_file():
        return WORKBENCH
    return Path.cwd() / WORKBENCH.name


def build_workbench(out: Path | str = WORKBENCH, *, options: ConfOptions = ConfOptions()) -> Path:
    """Write the control workbook to ``out`` and check its VBA against the sources."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="taizhang-workbench-") as tmp:
        skeleton = Path(tmp) / "skeleton.xlsm"
        _write_workbook(skeleton, options, vba_bin=None)
        bin_path = Path(tmp) / "vbaProject.bin"
        bin_path.write_bytes(build_vba_project(skeleton, Path(tmp) / "with_vba.xlsm"))
        with atomic_path(out) as staged:
            _write_workbook(staged, options, vba_bin=bin_path)
            problems = check_vba(staged)
            if problems:
                raise RuntimeError("生成的工作簿中的 VBA 与源文件不一致：" + "；".join(problems))
    return out


def build_vba_project(skeleton: Path, scratch: Path) -> bytes:
    """vbaProject.bin holding the document modules of ``skeleton``'s sheets + VBA_MODULES."""
    try:
        from pyopenvba import ExcelFile, VBAModuleKind
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError("生成工作台需要 pyOpenVBA：请先运行 pip install pyOpenVBA") from e
    with ExcelFile(str(skeleton)) as book:
        project = book.add_vba_project()
        for m in VBA_MODULES:
            kind = VBAModuleKind.standard if m.kind == "standard" else VBAModuleKind.other
            project.add_module(m.name, module_source(m), kind=kind)
        book.save(str(scratch))
    with zipfile.ZipFile(scratch) as z:
        return z.read("xl/vbaProject.bin")


def _write_workbook(path: Path, options: ConfOptions, *, vba_bin: Path | None) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": "信访积案台账工作台", "author": "taizhang", "created": FIXED_CREATED,
                       "comments": "由 taizhang workbench 生成，请勿手工修改 VBA"})
    if vba_bin is not None:
        wb.add_vba_project(str(vba_bin))
    _control_sheet(wb)
    _conf_sheet(wb, options)
    wb.close()


def _control_sheet(wb) -> None:
    ws = wb.add_worksheet(CONTROL_SHEET)
    title = wb.add_format({"bold": True, "font_size": 18, "font_color": "#1F4E79"})
    sub = wb.add_format({"font_color": "#595959", "text_wrap": True, "valign": "top"})
    what = wb.add_format({"text_wrap": True, "valign": "vcenter"})
    head = wb.add_format({"bold": True, "font_size": 12, "bottom": 1})
    step = wb.add_format({"text_wrap": True, "valign": "top"})
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.set_paper(9)                    # A4
    ws.fit_to_pages(1, 1)
    ws.set_column("A:A", 2)
    ws.set_column("B:C", 11)
    ws.set_column("D:D", 2)
    ws.set_column("E:E", 78)
    ws.write_string("B1", "信访积案台账工作台", title)
    ws.merge_range("B2:E3", "按下按钮，工具处理您眼前的台账工作表，结果直接显示在同一个工作簿里。"
                   "按钮只改“系统计算”列和单元格底色，不会改动您填写的任何内容。", sub)
    for b in BUTTONS:
        row = int(b.cell[1:]) - 1
        ws.insert_button(b.cell, {"macro": b.macro, "caption": b.caption, "width": 150, "height": 48,
                                  "x_offset": 2, "y_offset": 2,
                                  "description": f"{b.caption}（宏 {b.macro}）"})
        ws.set_row(row, 20)
        ws.merge_range(row, 4, row + 2, 4, b.what, what)
    ws.write_string("B21", "怎么用", head)
    steps = (
        "1. 把村里报来的台账工作表复制到本工作簿（右键工作表标签→移动或复制→工作簿选“台账工作台.xlsm”，"
        "勾选“建立副本”），回到本表按按钮：按钮处理本工作簿中“工作台”之外的第一张台账表。",
        "2. 也可以直接打开村里的台账文件，切换到台账工作表，按 Alt+F8，在“位置”中选“所有打开的工作簿”，"
        "选 TZ_Validate（校验本表）、TZ_Fill（计算期限）运行：结果写在那个文件里，记得保存。",
        "3. 一键汇总不看当前工作表：它读取配置的收件箱，生成乡级总台账。",
        "4. 第一次在这台电脑上使用，请先按“检查安装”。如果提示找不到 Python，请看“xlwings.conf”表的说明，"
        "或请技术人员按使用说明“Excel 按钮：台账工作台”一节的“一次性安装”设置。",
        "5. 使用说明随工具安装：在命令提示符中运行 taizhang guide，即在浏览器中打开；"
        "用服务器方式的电脑，在浏览器中打开 服务器地址/guide（如 http://192.0.2.10:8765/guide）。",
    )
    for i, text in enumerate(steps):
        ws.merge_range(21 + i * 2, 1, 22 + i * 2, 4, text, step)
    ws.activate()


def _conf_sheet(wb, options: ConfOptions) -> None:
    ws = wb.add_worksheet(CONF_SHEET)
    ws.set_column("A:A", 22)
    ws.set_column("B:B", 60)
    rows = [(k, options.interpreter if k == "Interpreter_Win" else
             options.pythonpath if k == "PYTHONPATH" else v) for k, v in CONF_DEFAULTS]
    if options.server:
        rows.append(("TAIZHANG_SERVER", options.server))
    for r, (key, value) in enumerate(rows):
        ws.write_string(r, 0, key)
        if isinstance(value, bool):
            ws.write_boolean(r, 1, value)
        elif value:
            ws.write_string(r, 1, str(value))
    note = wb.add_format({"font_color": "#595959"})
    for i, text in enumerate(CONF_NOTES):
        ws.write_string(len(rows) + 3 + i, 0, text, note)


# --- checking ----------------------------------------------------------------------
def extract_vba(path: Path | str) -> dict[str, str]:
    """Module name -> source text, read back from the workbook (pyOpenVBA's reader of the
    final .xlsm, which xlsxwriter packaged; the tests read the same modules with oletools'
    olevba too, an independent reader)."""
    from pyopenvba import ExcelFile

    path = Path(path)
    if path.suffix.lower() != ".xlsm":          # pyOpenVBA goes by the extension; a staged file has none
        with tempfile.TemporaryDirectory(prefix="taizhang-workbench-") as tmp:
            copy = Path(tmp) / "check.xlsm"
            copy.write_bytes(path.read_bytes())
            return extract_vba(copy)
    with ExcelFile(str(path)) as book:
        return dict(book.vba_modules())


def check_vba(path: Path | str) -> list[str]:
    """Problems (Chinese) where the workbook's VBA differs from toolkit/shells/vba; [] when equal."""
    found = extract_vba(path)
    problems = []
    for m in VBA_MODULES:
        if m.name not in found:
            problems.append(f"缺少模块 {m.name}")
        elif normalize_vba(found[m.name]) != normalize_vba(stream_source(m)):
            problems.append(f"模块 {m.name} 的代码与 {m.file} 不一致")
    extra = set(found) - {m.name for m in VBA_MODULES} - _document_modules(found)
    problems += [f"多出模块 {name}" for name in sorted(extra)]
    return problems


def _document_modules(found: dict[str, str]) -> set[str]:
    """ThisWorkbook/SheetN: document modules, which must hold no code."""
    docs = {n for n in found if n == "ThisWorkbook" or re.fullmatch(r"Sheet\d+", n)}
    return {n for n in docs if not [ln for ln in normalize_vba(found[n]).split("\n")
                                    if ln.strip() and not ln.startswith("Attribute VB_")]}
