"""催报: the printable 催报单 workbook and the Chinese reminder e-mailed to one village.

Both say the same thing per village: whether it has not reported since the date,
why its last file could not be used, its errors with their cells, and its overdue
cases. Personal data in any quoted value is masked as in the receipts
(``quote_issue``/``mask_text``): the 催报单 is printed and handed out, the e-mail
leaves the office.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from toolkit.core.files import atomic_path
from toolkit.core.issues import Issue
from toolkit.core.dates import when_text
from toolkit.outputs.pagefit import row_height
from toolkit.outputs.privacy import mask_text
from toolkit.outputs.receipt import quote_issue

SHEET_LIST = "催报单"
SHEET_DETAIL = "催报明细"
LIST_HEADERS = ("序号", "村（社区）", "联系人", "电子邮箱", "催报事项", "最近报送", "错误（处）",
                "逾期案件（件）", "发送情况")
DETAIL_HEADERS = ("村（社区）", "类别", "位置", "内容")
MAX_LINES = 30          # errors or overdue cases listed per village in the e-mail


@dataclass
class Chase:
    """What one village is reminded of."""
    village: str
    contact: str = ""
    emails: tuple[str, ...] = ()
    last_report: str | None = None           # when its counted file arrived (ISO)
    late: bool = False                       # nothing counted since the date
    unusable: str | None = None              # why its latest file was not used
    file: str | None = None                  # the counted file the errors are in
    errors: list[Issue] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)   # case_id, petitioner, deadline, leader
    status: str = ""                         # 发送情况, Chinese

    def reasons(self, since: date) -> list[str]:
        out = []
        if self.late:
            out.append(f"{since:%Y年%m月%d日}以来未报送台账" if self.last_report
                       else "尚未报送台账")
        if self.unusable:
            out.append("最近报送的文件未能采用")
        if self.errors:
            out.append(f"台账有 {len(self.errors)} 处错误待改正")
        if self.overdue:
            out.append(f"{len(self.overdue)} 件案件已超过办结期限")
        return out


def overdue_line(case: dict) -> str:
    who = f"，信访人 {case['petitioner']}" if case.get("petitioner") else ""
    leader = f"，包案领导 {case['leader']}" if case.get("leader") else ""
    return mask_text(f"案件 {case['case_id']}{who}：办结期限 {case['deadline'] or '未能计算'}，"
                     f"已逾期{leader}")


def reminder_text(chase: Chase, *, township: str, as_of: date, since: date) -> str:
    lines = [f"{chase.village}：", "",
             f"截至 {as_of:%Y年%m月%d日}，{township}信访办核对各村（社区）信访积案台账，"
             f"请你们抓紧办理以下事项：", ""]
    n = 0
    if chase.late:
        n += 1
        lines.append(f"{n}. " + (f"自 {since:%Y年%m月%d日} 以来没有收到你们报送的台账（最近一次："
                                 f"{when_text(chase.last_report)}），请及时报送最新台账。" if chase.last_report
                                 else "还没有收到你们报送的台账，请及时报送。"))
    if chase.unusable:
        n += 1
        lines.append(f"{n}. 最近报送的文件未能采用：{mask_text(chase.unusable)} 请改正后重新报送。")
    if chase.errors:
        n += 1
        lines.append(f"{n}. 台账“{chase.file}”有 {len(chase.errors)} 处错误，请在本村原表中改正后重新报送：")
        lines += [f"   {quote_issue(i)}" for i in chase.errors[:MAX_LINES]]
        if len(chase.errors) > MAX_LINES:
            lines.append(f"   ……另有 {len(chase.errors) - MAX_LINES} 处未列出。")
    if chase.overdue:
        n += 1
        lines.append(f"{n}. 以下 {len(chase.overdue)} 件案件已超过办结期限仍未办结，请抓紧化解，"
                     "并在台账中更新办理状态和进展：")
        lines += [f"   {overdue_line(c)}" for c in chase.overdue[:MAX_LINES]]
        if len(chase.overdue) > MAX_LINES:
            lines.append(f"   ……另有 {len(chase.overdue) - MAX_LINES} 件未列出。")
    lines += ["", "为保护信访人个人信息，本邮件中的身份证号、联系电话和住址已部分隐藏。",
              f"本邮件由{township}信访积案台账工具发送；如有疑问请与乡信访办联系。"]
    return "\n".join(lines) + "\n"


def build_reminder(chase: Chase, *, from_addr: str, township: str, as_of: date,
                   since: date) -> Message:
    msg = MIMEText(reminder_text(chase, township=township, as_of=as_of, since=since), "plain", "utf-8")
    msg["From"] = formataddr((str(Header(f"{township}信访办", "utf-8")), from_addr))
    msg["To"] = ", ".join(chase.emails)
    msg["Subject"] = Header(f"催报：{chase.village}信访积案台账（{as_of:%Y年%m月%d日}）", "utf-8")
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid("taizhang-remind", domain=from_addr.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"        # RFC 3834: no auto-reply to this
    msg["X-Auto-Response-Suppress"] = "All"
    return msg


def write_reminder_sheet(path: Path, chases: list[Chase], *, township: str, as_of: date,
                         since: date) -> Path:
    """The printable 催报单 (one row per village) and 催报明细 (one row per item), atomically."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        head, cell, title = table_formats(wb)
        rows = [[str(n), c.village, c.contact, "；".join(c.emails), "；".join(c.reasons(since)),
                 when_text(c.last_report) or "未报", str(len(c.errors)), str(len(c.overdue)), c.status]
                for n, c in enumerate(chases, start=1)]
        printable_table(wb.add_worksheet(SHEET_LIST), f"{township}信访积案台账催报单（截至 {as_of:%Y年%m月%d日}，"
               f"报送起算 {since:%Y年%m月%d日}）", LIST_HEADERS, rows,
               (5, 12, 8, 22, 34, 16, 9, 11, 16), head, cell, title)
        printable_table(wb.add_worksheet(SHEET_DETAIL), f"{township}信访积案台账催报明细（截至 {as_of:%Y年%m月%d日}）",
               DETAIL_HEADERS, _detail_rows(chases), (12, 10, 22, 80), head, cell, title)
        wb.close()
    return path


def _detail_rows(chases: list[Chase]) -> list[list[str]]:
    rows = []
    for c in chases:
        if c.unusable:
            rows.append([c.village, "文件未能采用", "", mask_text(c.unusable)])
        for i in c.errors:
            where = "，".join(x for x in (c.file or "", i.sheet or "", i.cell or "") if x)
            rows.append([c.village, "错误", where, quote_issue(i)])
        rows += [[c.village, "逾期案件", str(o["case_id"]), overdue_line(o)] for o in c.overdue]
    return rows


def table_formats(wb) -> tuple:
    """(header, cell, title) formats of a printable table (the 催报单's, the 报送方式's)."""
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True,
                          "align": "center", "valign": "vcenter"})
    cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    return head, cell, title


def printable_table(ws, heading: str, headers, rows, widths, head, cell, title) -> None:
    """A titled table that prints whole: every cell wraps and each row is as tall as its
    longest text (``pagefit``: a program's rows are not grown by Excel or LibreOffice)."""
    ws.merge_range(0, 0, 0, len(headers) - 1, heading, title)
    ws.set_row(0, row_height([(heading, sum(widths) / 1.3)], least=24, line=20))   # 14 pt title
    for col, (h, w) in enumerate(zip(headers, widths)):
        ws.set_column(col, col, w)
        ws.write_string(1, col, h, head)
    ws.set_row(1, row_height(zip(headers, widths)))
    for r, values in enumerate(rows, start=2):
        for col, v in enumerate(values):
            ws.write_string(r, col, v, cell)       # village text is text, never a formula
        ws.set_row(r, row_height(zip(values, widths)))
    ws.set_landscape()
    ws.set_paper(9)                                 # A4
    ws.repeat_rows(1)
    ws.fit_to_pages(1, 0)
    ws.freeze_panes(2, 0)
    ws.set_footer("&C第 &P 页，共 &N 页")

