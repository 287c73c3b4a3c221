"""The one catalogue of every problem the toolkit can report.

Modelled on frictionless-py's error catalogue: each kind has a stable code, a
severity, a Chinese title, a Chinese message template and what the clerk
should do. The JSON output, the text report, the issue workbook, the annotated
copy and the e-mail receipt all draw their words from here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"           # said once, counted as neither error nor warning


class Code:
    """Every issue code by name: code writes ``Code.DATE_ORDER``, never the bare string,
    so a misspelt code fails at import time (tests check this list equals the catalogue)."""
    UNREADABLE = "unreadable"
    ENCRYPTED = "encrypted"
    TOO_LARGE = "too_large"
    NOT_SPREADSHEET = "not_spreadsheet"
    MACROS_PRESENT = "macros_present"
    NO_LEDGER_SHEET = "no_ledger_sheet"
    EMPTY_LEDGER = "empty_ledger"
    VILLAGE_UNKNOWN = "village_unknown"
    MARKER_MISMATCH = "marker_mismatch"
    MISSING_COLUMN = "missing_column"
    DUPLICATE_COLUMN = "duplicate_column"
    MISSING_VALUE = "missing_value"
    DUPLICATE_CASE_ID = "duplicate_case_id"
    INVALID_ID_NUMBER = "invalid_id_number"
    UNKNOWN_AREA_CODE = "unknown_area_code"
    ID_NUMBER_AS_NUMBER = "id_number_as_number"
    INVALID_PHONE = "invalid_phone"
    INVALID_DATE = "invalid_date"
    DATE_ORDER = "date_order"
    UNKNOWN_STATUS = "unknown_status"
    INVALID_CHOICE = "invalid_choice"
    INVALID_NUMBER = "invalid_number"
    INVALID_TICK = "invalid_tick"
    OUT_OF_SCOPE = "out_of_scope"
    CLOSED_DATE_MISSING = "closed_date_missing"
    ARCHIVE_INCOMPLETE = "archive_incomplete"
    DEADLINE_UNAVAILABLE = "deadline_unavailable"
    VILLAGE_MISMATCH = "village_mismatch"
    CASE_VANISHED = "case_vanished"
    UNKNOWN_SENDER = "unknown_sender"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    UNSAFE_ARCHIVE = "unsafe_archive"
    MALFORMED_MESSAGE = "malformed_message"
    NO_ATTACHMENT = "no_attachment"
    NOT_ON_ROSTER = "not_on_roster"
    GONE_FROM_INBOX = "gone_from_inbox"
    MACRO_SHEET = "macro_sheet"
    NOT_A_LEDGER = "not_a_ledger"
    AUTH_FAILED = "auth_failed"
    FAR_VALUE = "far_value"
    MISSING_SHEET = "missing_sheet"
    HEADER_NEAR_MISS = "header_near_miss"
    HEADER_AMBIGUOUS = "header_ambiguous"
    EXTRA_COLUMNS = "extra_columns"
    LINK_INVALID = "link_invalid"


@dataclass(frozen=True)
class IssueKind:
    code: str
    severity: str
    title: str
    template: str
    action: str


_KINDS = (
    # --- the file as a whole ------------------------------------------------
    IssueKind("unreadable", ERROR, "文件无法读取",
              "文件“{file}”无法作为表格读取：{reason}。",
              "请用 Excel 或 WPS 打开确认文件完好，另存为 .xlsx 后重新报送。"),
    IssueKind("encrypted", ERROR, "文件已加密",
              "文件“{file}”设置了打开密码，工具无法读取。",
              "请在 Excel/WPS 中取消密码（文件→信息→保护工作簿）后重新报送。"),
    IssueKind("too_large", ERROR, "文件过大或结构异常",
              "文件“{file}”超出安全限制：{reason}。",
              "请检查是否误填了极远处的单元格或粘贴了大量内容，删除多余部分后重新报送。"),
    IssueKind("not_spreadsheet", ERROR, "不是表格文件",
              "文件“{file}”不是 Excel/WPS 表格（{reason}）。",
              "请报送 .xlsx、.xlsm 或 .xls 格式的台账。"),
    IssueKind("macros_present", WARNING, "含有宏",
              "文件“{file}”含有宏（VBA），工具不会运行其中任何宏。",
              "如非必要，请另存为不含宏的 .xlsx 报送。"),
    IssueKind("no_ledger_sheet", ERROR, "找不到台账表",
              "文件“{file}”中没有找到台账工作表（表头须含“案件编号”“信访人”等列）。",
              "请使用乡里下发的台账模板，或在表头写明“案件编号”“信访人”等列名。"),
    IssueKind("empty_ledger", WARNING, "台账无案件",
              "工作表“{sheet}”有表头但没有案件行。",
              "如本村确无积案可忽略；否则请检查是否填错了工作表。"),
    IssueKind("village_unknown", WARNING, "无法确定村（社区）",
              "无法从文件“{file}”确定所属村（社区），暂以文件名“{village}”代替。",
              "请在表头下方“填报单位：”后填写村（社区）名称。"),
    IssueKind("marker_mismatch", WARNING, "模板与村名不符",
              "文件用的是发给“{marker}”的模板，但表中{where}写的是“{visible}”：按“{counted}”计入。",
              "请核对这是哪个村（社区）的台账：表中的填报单位、“村（社区）”列和所用模板应是同一个村；"
              "各村请用本村自己的模板（乡信访办用 taizhang template --village 村名 生成）。"),
    # --- columns -------------------------------------------------------------
    IssueKind("missing_column", ERROR, "缺少必填列",
              "缺少必填列“{column}”。",
              "请在表头中加上“{column}”列（可用的写法：{variants}）。"),
    IssueKind("header_near_miss", WARNING, "表头写法不标准",
              "表头 {cell}“{written}”不是标准写法，已按“{column}”列读取{near}。",
              "如判断无误：请村里把表头改为“{column}”，或由乡信访办在设置工作簿“表头别名”表中加一行"
              "（表头写法：{written}；对应列：{column}），以后各村这样写都不再提醒。如判断有误，"
              "请把表头改为正确的列名。"),
    IssueKind("header_ambiguous", ERROR, "表头无法判断",
              "表头 {cell}“{written}”与{fields}都只差一点，无法判断是哪一列，该列未读取。",
              "请把表头改为其中正确的列名；或由乡信访办在设置工作簿“表头别名”表中加一行"
              "（表头写法：{written}；对应列：正确的列名）。"),
    IssueKind("extra_columns", INFO, "本村自加的列",
              "工作表“{sheet}”中有不属于台账标准列的列：{columns}，未读取。",
              "无需处理。如其中某列其实是台账的列，请改用标准列名，或由乡信访办在设置工作簿“表头别名”表中登记。"),
    IssueKind("duplicate_column", WARNING, "列重复",
              "“{column}”列出现了两次（{cell}），只读取第一列。",
              "请删除或改名重复的列。"),
    # --- values --------------------------------------------------------------
    IssueKind("missing_value", ERROR, "必填项为空",
              "案件“{case_id}”的“{column}”为空。",
              "请补填“{column}”。"),
    IssueKind("duplicate_case_id", ERROR, "案件编号重复",
              "案件编号“{case_id}”重复出现（{where}）。",
              "案件编号在全乡唯一，请核对后改正重复的编号。"),
    IssueKind("invalid_id_number", ERROR, "身份证号有误",
              "身份证号“{value}”{reason}。",
              "请对照身份证原件核对 18 位号码（末位可为 X）。"),
    IssueKind("unknown_area_code", WARNING, "身份证地区码未知",
              "身份证号“{value}”的前 6 位地区码不在现行行政区划代码中。",
              "老身份证可能使用已撤销的地区码，请核对原件；无误可忽略。"),
    IssueKind("id_number_as_number", ERROR, "身份证号被存成数字",
              "身份证号被 Excel 存成了数字（{value}），后几位已丢失。",
              "请把该列设为“文本”格式，再按身份证原件重新录入完整的 18 位号码。"),
    IssueKind("invalid_phone", WARNING, "联系电话格式可疑",
              "联系电话“{value}”不像手机号（11 位）或固定电话。",
              "请核对联系电话。"),
    IssueKind("invalid_date", ERROR, "日期无法识别",
              "“{column}”的“{value}”不是有效日期{reason}。",
              "请填写真实存在的日期，年、月、日写全（年份写四位），如“××××-07-01”或“××××年7月1日”。"),
    IssueKind("date_order", ERROR, "日期先后不对",
              "{reason}",
              "请核对首次信访时间、交办日期、办结日期：应依次不早于前者，且不晚于今天。"),
    IssueKind("unknown_status", ERROR, "办理状态无法识别",
              "办理状态“{value}”无法识别。",
              "请从下拉列表选择：待化解、化解中、已化解、已销号、中止。"),
    IssueKind("invalid_choice", WARNING, "取值不在选项内",
              "“{column}”的“{value}”不在选项内（{choices}）。",
              "请从下拉列表中选择。"),
    IssueKind("invalid_number", ERROR, "数字无法识别",
              "“{column}”的“{value}”不是整数。",
              "请填写整数（工作日天数），无延期请留空。"),
    IssueKind("invalid_tick", WARNING, "打勾标记无法识别",
              "“{column}”的“{value}”不是认可的标记，按“未完成”处理。",
              "已完成请填 √（或 是/有），未完成请留空或填 ×。"),
    IssueKind("out_of_scope", WARNING, "不在积案范围",
              "首次信访时间 {value} 晚于积案范围截止日 {cutoff}。",
              "如确需纳入请乡信访办确认；否则请从台账中移出。"),
    IssueKind("closed_date_missing", ERROR, "缺少办结日期",
              "案件“{case_id}”状态为“{status}”，但没有填写办结日期。",
              "请补填办结日期，或改正办理状态。"),
    IssueKind("archive_incomplete", ERROR, "六有材料不全",
              "案件“{case_id}”已销号，但“六有”材料缺：{missing}。",
              "结案销号须六有齐全：请补齐材料并打勾，或把状态改回“已化解”。"),
    IssueKind("deadline_unavailable", WARNING, "无法计算办结期限",
              "{reason}",
              "请在设置工作簿“节假日”表中补充该年的放假和调休安排。"),
    # --- consolidation ------------------------------------------------------
    IssueKind("village_mismatch", WARNING, "村名与发件人不符",
              "文件中的村（社区）“{village}”与发件人登记的“{expected}”不一致。",
              "已暂存待核，请乡信访办确认：确是发件村的台账，用 taizhang release 编号 --village 村名 放行；"
              "发错了就用 taizhang withdraw 编号 --reason 原因 撤回。"),
    IssueKind("case_vanished", WARNING, "案件从台账中消失",
              "案件“{case_id}”在{village}新报台账中不见了，但未销号。",
              "请与该村核实：已结案的应改为“已销号”保留在台账中。"),
    # --- e-mail intake --------------------------------------------------------
    IssueKind("unknown_sender", WARNING, "发件人未登记",
              "发件人 {sender} 不在村（社区）名册中，文件“{file}”已暂存待核。",
              "请乡信访办核实：如是村里的新邮箱，请在设置工作簿的名册中登记该邮箱；核实是哪个村的台账后，"
              "也可用 taizhang assign 编号 --village 村名 归入该村。"),
    IssueKind("link_invalid", WARNING, "网页报送链接无效",
              "文件“{file}”是从一个已作废或未登记的网页报送链接（{link}）上传的，已暂存待核。",
              "请乡信访办与该村核实：确是该村所报，用 taizhang release 编号 --village 村名 放行；不是就用 "
              "taizhang withdraw 编号 --reason 原因 撤回。需要新链接时运行 taizhang links。"),
    IssueKind("auth_failed", WARNING, "发件人身份未通过验证",
              "邮件的发件人 {sender} 未通过收件服务器的身份验证（{auth}），可能是他人冒用该邮箱，"
              "文件“{file}”已暂存待核。",
              "请乡信访办与该村电话核实：确是该村所发，用 taizhang release 编号 放行；不是就用 "
              "taizhang withdraw 编号 --reason 原因 撤回。"),
    IssueKind("attachment_too_large", ERROR, "附件过大",
              "附件“{file}”有 {size} MB，超过 {limit} MB 的上限，未处理。",
              "请删除台账中多余的内容（如图片）后重新发送；确需报送大文件请联系乡信访办。"),
    IssueKind("unsafe_archive", ERROR, "压缩包无法处理",
              "压缩包“{file}”{reason}。",
              "请直接把台账表格（.xlsx/.xls）作为附件发送，不要加密或多层压缩。"),
    IssueKind("malformed_message", ERROR, "邮件格式损坏",
              "邮件{file}无法解析：{reason}。",
              "请重新发送该邮件，把台账作为普通附件添加。"),
    IssueKind("no_attachment", WARNING, "邮件中没有台账",
              "邮件“{subject}”中没有表格附件。",
              "请把台账（.xlsx/.xls）作为附件重新发送；QQ邮箱等的“超大附件”只是下载链接，"
              "工具无法读取，请改为普通附件。"),
    # --- roster discipline (consolidation) --------------------------------------
    IssueKind("not_on_roster", WARNING, "村名不在名册中",
              "文件“{file}”的村（社区）“{village}”不在村名册中{nearest}，已暂存待核，未计入总台账。",
              "请核对村名：是笔误就用 taizhang assign 编号 --village {suggest} 归入该村（下次汇总时计入），"
              "并请该村改正；是新的村（社区）就在设置工作簿“名册”表中登记。"),
    IssueKind("gone_from_inbox", WARNING, "文件已不在收件箱",
              "{village}报送的“{file}”已不在收件箱中，总台账仍采用存档中的这份文件（收到于 {received}）。",
              "如是误删，请放回收件箱；如该村的台账作废，请让该村重新报送。"),
    # --- files every office program opens (issue 10) ---------------------------
    IssueKind("macro_sheet", WARNING, "含有 Excel 4.0 宏表",
              "文件“{file}”含有 Excel 4.0 宏表或对话框表（{sheets}），工具只读取普通工作表，不会运行其中任何宏。",
              "如非必要，请删除这些宏表，另存为 .xlsx 后报送。"),
    IssueKind("far_value", WARNING, "远处的单元格未读取",
              "工作表“{sheet}”只在远处的单元格 {cells} 填有内容，离表格其余内容太远，工具没有读取{these}。",
              "如这些内容有用，请移到表格内；否则请删除后另存再报送。"),
    IssueKind("missing_sheet", WARNING, "工作表缺失",
              "文件“{file}”列出了工作表 {sheets}，但文件里没有它的内容（文件可能不完整），已跳过；其余工作表照常读取。",
              "如该表应有内容，请在 Excel 或 WPS 中打开确认后另存为 .xlsx 重新报送。"),
    IssueKind("not_a_ledger", ERROR, "不是信访积案台账",
              "文件“{file}”看起来不是信访积案台账：{looked}没有找到“案件编号”“信访人”“办理状态”等台账列。",
              "请确认报送的是本村的信访积案台账；请使用乡里下发的台账模板（可用 taizhang template 生成）填写后重新报送。"),
)

CATALOGUE: dict[str, IssueKind] = {k.code: k for k in _KINDS}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass
class Issue:
    severity: str
    code: str
    message: str
    action: str = ""
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    case_id: str | None = None
    value: Any = None
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("file")
        v = d["value"]
        if v is not None and not isinstance(v, (str, int, float, bool)):
            d["value"] = str(v)
        keys = ("severity", "code", "sheet", "cell", "row", "column", "case_id", "value",
                "message", "action")
        return {k: d[k] for k in keys}

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def make_issue(code: str, *, sheet: str | None = None, cell: str | None = None,
               row: int | None = None, column: str | None = None, case_id: object = None,
               value: object = None, file: str | None = None, **params: object) -> Issue:
    """Build an Issue from the catalogue; ``params`` fill the message template."""
    kind = CATALOGUE[code]
    fill = _Blank(params)
    fill.update(column=column or "", case_id=case_id or "", value=_show(value),
                sheet=sheet or "", cell=cell or "", file=file or "")
    fill.update({k: v for k, v in params.items()})
    return Issue(severity=kind.severity, code=code,
                 message=kind.template.format_map(fill), action=kind.action.format_map(fill),
                 sheet=sheet, cell=cell, row=row, column=column,
                 case_id=None if case_id is None else str(case_id),
                 value=value, file=file)


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def count(issues: list[Issue]) -> tuple[int, int]:
    """(errors, warnings); information (``INFO``) is neither"""
    e = sum(1 for i in issues if i.severity == ERROR)
    return e, sum(1 for i in issues if i.severity == WARNING)
