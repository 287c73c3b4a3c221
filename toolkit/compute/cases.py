"""The computed columns of every case: deadline, alert, checklists, readiness to close.

``compute_cases`` takes the cases table of a :class:`toolkit.core.ledger.Ledger`
(index = Excel row, columns = ``fields.ALL_INPUT_KEYS``) and returns one column
per ``fields.COMPUTED`` key with the same index.

Timing, as of a date:

* 办结期限 = the (campaign workdays + 延期天数)th working day after 交办日期.
  When that needs a year nobody has supplied, the deadline stays blank and a
  ``deadline_unavailable`` warning says which year to add; it is never guessed.
* 剩余工作日 = working days after the as-of date up to the deadline: 0 on the
  deadline day, negative when past. It equals N minus the working days elapsed
  since 交办日期, so it is known whenever the years between 交办日期 and the
  as-of date are known, even when the deadline itself is not. Otherwise blank
  (e.g. on 1 January of a year the calendar does not know yet). Closed and
  suspended cases have none.
* 预警: 已办结 / 中止 by status; otherwise 逾期 when the as-of date is after the
  deadline (a plain date comparison, so it keeps working on 1 January of an
  unknown year), 临期 when at most ``due_soon_workdays`` working days are left,
  else 正常. With part of the calendar unknown, an alert is given only when it
  is proven: calendar days bound working days from above, and an unknown year
  counts as anywhere from none to all of its days; what cannot be proven is "".

The work is memoised per distinct 交办日期 and per checklist pattern, so tens
of thousands of cases take a fraction of a second.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from toolkit.compute.calendar import CalendarYearMissing, WorkCalendar, calendar_for
from toolkit.core.fields import (ALL_INPUT_KEYS, ALERT_CLOSED, ALERT_DUE_SOON, ALERT_NORMAL, ALERT_OVERDUE, ALERT_SUSPENDED,
                                 CHECKLISTS, CLOSED_STATUSES, COMPUTED, COMPUTED_BY_KEY, SUSPENDED_STATUS,
                                 header_for)
from toolkit.core.issues import Code, Issue, make_issue
from toolkit.core.ledger import case_columns
from toolkit.core.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from toolkit.core.ledger import Ledger

ARCHIVE_GROUP = "archive"


def compute_cases(cases: "pd.DataFrame", *, as_of: date, settings: Settings,
                  calendar: WorkCalendar | None = None,
                  columns: bool = True) -> tuple["pd.DataFrame | None", list[Issue]]:
    """One column per ``fields.COMPUTED`` key, same index as ``cases``; plus deadline warnings.
    ``columns=False``: the warnings only (``taizhang validate`` writes no column), no table."""
    import pandas as pd

    n = len(cases)

    def col(key: str | None) -> list:
        if key is None or key not in cases.columns:
            return [None] * n
        return cases[key].tolist()

    out, issues = _computed(col, n, cases.index.tolist(), as_of=as_of, settings=settings,
                            calendar=calendar, columns=columns)
    if not columns:
        return None, issues
    frame = pd.DataFrame({k: pd.Series(v, index=cases.index, dtype=object) for k, v in out.items()},
                         index=cases.index)
    return frame, issues


def _computed(col, n: int, rows: list, *, as_of: date, settings: Settings, calendar: WorkCalendar | None,
              columns: bool) -> tuple[dict[str, list], list[Issue]]:
    """``compute_cases`` on plain columns: ``col(key)`` gives a key's n values, ``rows`` each
    case's row (what a warning names); the computed columns by key (timing only without
    ``columns``) and the deadline warnings."""
    cal = calendar if calendar is not None else calendar_for(settings)
    as_of = _date(as_of)
    out: dict[str, list] = {c.key: [None] * n for c in COMPUTED}
    issues = _timing_columns(rows, col, as_of, settings, cal, out)   # the only warnings computing gives
    if columns:
        _checklist_columns(col, n, out)
        cutoff = settings.campaign.cutoff
        out["in_scope"] = [_in_scope(_date(v), cutoff) for v in col("first_petition_date")]
        out["phase"] = [settings.campaign.phase_of(as_of)] * n
    return out, issues


def compute_ledger(ledger: "Ledger", *, as_of: date, settings: Settings,
                   calendar: WorkCalendar | None = None) -> tuple["pd.DataFrame", list[Issue]]:
    """``compute_cases`` for one ledger, its warnings placed at their cells."""
    table, issues = compute_cases(ledger.cases, as_of=as_of, settings=settings, calendar=calendar)
    for issue in issues:
        place_issue(ledger, issue, issue.row)
    return table, issues


def compute_ledgers(ledgers: "Sequence[Ledger]", *, as_of: date, settings: Settings,
                    calendar: WorkCalendar | None = None, columns: bool = True) -> list["pd.DataFrame"]:
    """``compute_cases`` for many ledgers at once (one table, one memo): one frame per ledger,
    in order (no rows for a ledger without cases). Each deadline warning is placed at its
    cell and added to its ledger's issues, as validation adds its own. ``columns=False``:
    the warnings only, and no frames (an empty list; no pandas for a reader's tables)."""
    owners = [n for n, lg in enumerate(ledgers) if lg.readable and lg.n_cases]
    table, where = case_columns([ledgers[n] for n in owners], ALL_INPUT_KEYS if columns else _TIMING_KEYS)
    size = len(where)
    out, issues = _computed(lambda key: table[key] if key in table else [None] * size, size, list(range(size)),
                            as_of=as_of, settings=settings, calendar=calendar, columns=columns)
    _place(ledgers, issues, owners, where)
    if not columns:
        return []
    import pandas as pd
    frames = [pd.DataFrame(index=lg.cases.index if lg.cases is not None else None,
                           columns=[c.key for c in COMPUTED], dtype=object) for lg in ledgers]
    computed = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in out.items()})
    start = 0
    for n in owners:
        rows = ledgers[n].n_cases
        frames[n] = computed.iloc[start:start + rows].set_axis(ledgers[n].cases.index)
        start += rows
    return frames


# What the deadline warnings look at (computing's only warnings: validate needs no more).
_TIMING_KEYS = ("case_id", "status", "assigned_date", "extension_days")


def _place(ledgers: "Sequence[Ledger]", issues: list[Issue], owners: list[int],
           where: list[tuple[int, int]]) -> None:
    """Each warning (its ``row`` a position in the combined table) at its ledger's cell:
    ``where[position]`` = (number in ``owners``, Excel row), ``owners`` the ledgers' numbers."""
    for issue in issues:
        n, row = where[int(issue.row)]
        place_issue(ledgers[owners[n]], issue, row)
        ledgers[owners[n]].issues.append(issue)


def place_issue(ledger: "Ledger", issue: Issue, row: int) -> None:
    """Where a computing warning points, the same for fill, the buttons and the master:
    the case's 交办日期 cell, the input the deadline is counted from (the 办结期限 column
    may not exist in the village's sheet yet)."""
    issue.row, issue.sheet, issue.file = row, ledger.sheet, Path(ledger.path).name
    issue.cell = ledger.cell("assigned_date", row)
    issue.column = header_for("assigned_date")


# --- timing -----------------------------------------------------------------
def _timing_columns(rows: list, col, as_of: date, settings: Settings, cal: WorkCalendar,
                    out: dict[str, list]) -> list[Issue]:
    camp = settings.campaign
    memo: dict[tuple[date, int], tuple] = {}
    issues: list[Issue] = []
    case_ids = col("case_id")
    for r, (status, assigned, ext) in enumerate(zip(col("status"), col("assigned_date"),
                                                    col("extension_days"))):
        status, assigned = _text(status), _date(assigned)
        deadline = left = None
        alert = ""
        if assigned is not None:
            n_days = camp.workdays + _int(ext)
            key = (assigned, n_days)
            if key not in memo:
                memo[key] = case_timing(cal, assigned, n_days, as_of, camp.due_soon_workdays)
            deadline, missing_year, left, alert = memo[key]
            if missing_year is not None:
                issues.append(_deadline_issue(rows[r], _text(case_ids[r]), assigned, n_days,
                                              missing_year))
        if status in CLOSED_STATUSES:
            alert, left = ALERT_CLOSED, None
        elif status == SUSPENDED_STATUS:
            alert, left = ALERT_SUSPENDED, None
        out["deadline"][r] = deadline
        out["workdays_left"][r] = left
        out["alert"][r] = alert
    return issues


def case_timing(cal: WorkCalendar, assigned: date, n: int, as_of: date,
                due_soon: int) -> tuple[date | None, int | None, int | None, str]:
    """(deadline, missing year, workdays left, alert) of an open case; see the module doc."""
    try:
        deadline, missing = cal.add_workdays(assigned, n), None
    except CalendarYearMissing as e:
        deadline, missing = None, e.year
    lo, hi = cal.workdays_between_bounds(assigned, as_of)   # working days elapsed
    left = n - lo if lo == hi else None
    if deadline is not None:
        overdue: bool | None = as_of > deadline
    elif lo > n:
        overdue = True            # more than N working days surely elapsed
    elif hi < n:
        overdue = False           # fewer than N working days can have elapsed
    else:
        overdue = None
    if overdue is None:
        return deadline, missing, left, ""
    if overdue:
        return deadline, missing, left, ALERT_OVERDUE
    most_left = n - lo
    if deadline is not None:
        most_left = min(most_left, (deadline - as_of).days)   # calendar days bound working days
    least_left = n - hi
    if most_left <= due_soon:
        alert = ALERT_DUE_SOON
    elif least_left > due_soon:
        alert = ALERT_NORMAL
    else:
        alert = ""
    return deadline, missing, left, alert


def _deadline_issue(row, case_id, assigned: date, n: int, year: int) -> Issue:
    cid = "" if case_id is None else str(case_id)
    reason = (f"案件“{cid}”交办日期 {assigned.isoformat()} 起算 {n} 个工作日，要用到 {year} 年的"
              f"法定节假日安排，工具还没有该年的安排，办结期限暂不计算（不会按周末猜测）。")
    return make_issue(Code.DEADLINE_UNAVAILABLE, row=_row(row), case_id=case_id,
                      column=COMPUTED_BY_KEY["deadline"].header,
                      value=assigned.isoformat(), reason=reason, year=year)


# --- checklists and closing -------------------------------------------------
def _checklist_columns(col, n: int, out: dict[str, list]) -> None:
    archive_masks: list[int] = [0] * n
    parts_by_row: list[list[str]] = [[] for _ in range(n)]
    archive_names: dict[int, list[str]] = {}
    for g in CHECKLISTS:
        masks = _missing_masks(g, col, n)          # bit j set = item j of the group missing
        summaries: dict[int, tuple[str, str, list[str]]] = {}
        done_col = out[f"{g.key}_done"]
        for r, m in enumerate(masks):
            if m not in summaries:
                summaries[m] = _summarise(g, m)
            done, part, _ = summaries[m]
            done_col[r] = done
            if part:
                parts_by_row[r].append(part)
        if g.key == ARCHIVE_GROUP:
            archive_masks = masks
            archive_names = {m: v[2] for m, v in summaries.items()}
    out["missing_items"] = ["；".join(parts) for parts in parts_by_row]
    closing: dict[tuple, str] = {}
    for r, (status, closed) in enumerate(zip(col("status"), col("closed_date"))):
        key = (_text(status), _date(closed) is not None, archive_masks[r])
        if key not in closing:
            closing[key] = can_close(key[0], key[1], archive_names.get(key[2], []))
        out["can_close"][r] = closing[key]


def _missing_masks(group, col, n: int) -> list[int]:
    masks = [0] * n
    for j, it in enumerate(group.items):
        bit = 1 << j
        ticks = col(it.key)
        texts = col(it.text_field) if it.text_field else None
        for r, v in enumerate(ticks):
            if v is True or (v is not None and v is not False and _ticked(v)):
                continue
            if texts is not None and _filled(texts[r]):
                continue
            masks[r] |= bit
    return masks


def _summarise(group, mask: int) -> tuple[str, str, list[str]]:
    """("6/8", "九个一：协调会、会议纪要", [missing names]) for one group's missing-item mask."""
    missing = [it.header for j, it in enumerate(group.items) if mask >> j & 1]
    total = len(group.items)
    part = f"{group.header}：{'、'.join(missing)}" if missing else ""
    return f"{total - len(missing)}/{total}", part, missing


def can_close(status: str | None, has_closed_date: bool, archive_missing: list[str]) -> str:
    """可否销号: "是", or "否：" and why (status first, then 办结日期 and 六有)."""
    if status is None:
        return "否：办理状态未填或无法识别"
    if status == SUSPENDED_STATUS:
        return "否：案件已中止"
    if status not in CLOSED_STATUSES:
        return "否：尚未化解"
    reasons = []
    if not has_closed_date:
        reasons.append("缺办结日期")
    if archive_missing:
        reasons.append(f"六有缺{'、'.join(archive_missing)}")
    return "否：" + "；".join(reasons) if reasons else "是"


def _in_scope(first: date | None, cutoff: date) -> str:
    if first is None:
        return ""
    if first <= cutoff:
        return "是"
    return f"否（首次信访晚于{cutoff.isoformat()}）"


# --- value helpers (values are normalised already; tolerate pandas' NaN/NaT) --
def _date(v) -> date | None:
    if isinstance(v, datetime):
        return None if v != v else v.date()    # NaT != NaT
    return v if isinstance(v, date) else None


def _text(v) -> str | None:
    """Strings stay; pandas' missing markers (NaN in a str column) become None."""
    if isinstance(v, str):
        return v
    return None if v is None or v != v else str(v)


def _int(v) -> int:
    if v is None or isinstance(v, (str, bytes)) or v != v:
        return 0
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def _ticked(v) -> bool:
    if v is None or isinstance(v, str):
        return False
    try:
        return v == v and bool(v)
    except (TypeError, ValueError):
        return False


def _filled(v) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return v.strip() != ""
    try:
        return v == v
    except (TypeError, ValueError):
        return True


def _row(r):
    try:
        return int(r)
    except (TypeError, ValueError):
        return r
