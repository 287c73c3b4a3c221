"""What the leader's 简报 says, from one consolidation: its case table, its result, the
campaign settings and the recorded history of earlier runs (``pipeline.trends``)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Sequence

from toolkit.core.fields import RESOLVED, STRUCK_OFF
from toolkit.core.settings import Settings
from toolkit.outputs.brief import TOTAL_KEYS, Brief
from toolkit.outputs.master import alert_rows
from toolkit.outputs.privacy import mask_name
from toolkit.pipeline.trends import VillageDay, township_days

TOP_VILLAGES, TOP_CASES, TREND_DAYS = 5, 10, 84      # the last twelve weeks of runs


def build_brief(cases, *, as_of: date, settings: Settings, missing_villages: Sequence[str],
                history: Sequence[VillageDay]) -> Brief:
    """The 简报 of a run whose case table is ``cases`` and whose day is ``as_of``;
    ``history`` holds this run's own rows too (they are recorded before)."""
    days = township_days(history)
    today = next((d for d in days if d.day == as_of), None)
    totals = {k: getattr(today, k) for k, _ in TOTAL_KEYS} if today else _totals(cases)
    earlier = [d for d in days if d.day < as_of]
    week = [d for d in earlier if d.day <= as_of - timedelta(days=7)]
    phase = settings.campaign.phase_of(as_of)
    end = next((p.end for p in settings.campaign.phases if p.name == phase), None)
    return Brief(
        township=settings.campaign.township, as_of=as_of, phase=phase, phase_end=end,
        totals=totals, missing_villages=list(missing_villages),
        since_last=_change(totals, earlier[-1]) if earlier else None,
        since_week=_change(totals, week[-1]) if week else None,
        worst_villages=_worst(history, as_of),
        urgent=_urgent(cases),
        trend=[(d.day, d.overdue, d.due_soon, d.resolved) for d in days
               if as_of - timedelta(days=TREND_DAYS) <= d.day <= as_of])


def _totals(cases) -> dict[str, int]:
    rows = list(zip(cases["alert"], cases["status"])) if len(cases) else []
    return {"cases": len(rows), "resolved": sum(s == RESOLVED for _, s in rows),
            "struck_off": sum(s == STRUCK_OFF for _, s in rows),
            "overdue": sum(a == "逾期" for a, _ in rows), "due_soon": sum(a == "临期" for a, _ in rows)}


def _change(totals: dict[str, int], then: VillageDay) -> tuple[date, dict[str, int]]:
    return then.day, {k: totals[k] - getattr(then, k) for k, _ in TOTAL_KEYS}


def _worst(history: Sequence[VillageDay], as_of: date) -> list[dict]:
    today = [r for r in history if r.day == as_of and r.overdue]
    today.sort(key=lambda r: (-r.overdue, -r.due_soon, r.village))
    return [{"village": r.village, "overdue": r.overdue, "due_soon": r.due_soon, "cases": r.cases}
            for r in today[:TOP_VILLAGES]]


def _urgent(cases) -> list[dict]:
    out = []
    for r in alert_rows(cases)[:TOP_CASES]:
        left = r.get("workdays_left")
        out.append({"预警": r.get("alert"), "剩余工作日": left if isinstance(left, int) else None,
                    "办结期限": r.get("deadline"), "村（社区）": r.get("village"),
                    "案件编号": r.get("case_id"), "信访人": mask_name(r.get("petitioner")),
                    "包案领导": r.get("leader")})
    return out
