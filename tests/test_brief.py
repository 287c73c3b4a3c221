"""The leader's 简报: one A4 page at any scale, in the master and as a PDF (LibreOffice)."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

from python_calamine import CalamineWorkbook

import toolkit
from conftest import needs_soffice
from toolkit import api
from toolkit.core.config import Config
from toolkit.core.settings_workbook import create_settings_workbook
from toolkit.outputs.brief import Brief, brief_pdf
from toolkit.shells.cli import main

DEMO = Path(toolkit.__file__).parent / "demo" / "inbox"


def pdf_words(pdf: Path) -> list[tuple[str, float]]:
    """(word, height in points) of every word pdftotext finds."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout
    return [(w, float(y1) - float(y0)) for y0, y1, w in
            re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', html)]


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@needs_soffice
def test_a_district_brief_is_one_readable_page(tmp_path):
    day = date(2010, 10, 20)
    brief = Brief(
        township="鹿城区（300 个村社）", as_of=day, phase="督导检查", phase_end=date(2010, 10, 31),
        totals={"cases": 30000, "resolved": 9000, "struck_off": 4000, "overdue": 6200, "due_soon": 3100},
        missing_villages=[f"第{i}村民委员会" for i in range(120)],
        since_last=(day - timedelta(days=1), {"cases": 12, "resolved": 40, "struck_off": 3,
                                              "overdue": -25, "due_soon": 8}),
        since_week=(day - timedelta(days=7), {"cases": 80, "resolved": 300, "struck_off": 20,
                                              "overdue": -190, "due_soon": 30}),
        worst_villages=[{"village": f"第{i}村民委员会", "overdue": 90 - i, "due_soon": 20, "cases": 300}
                        for i in range(5)],
        urgent=[{"预警": "逾期", "剩余工作日": -60 + i, "办结期限": day - timedelta(days=80 - i),
                 "村（社区）": f"第{i}村民委员会", "案件编号": f"LC2010-{i:05d}", "信访人": "张**等16人",
                 "包案领导": "区政法委副书记 某某某"} for i in range(10)],
        trend=[(day - timedelta(days=7 * (11 - i)), 8000 - 150 * i, 3000 + 10 * i, 5000 + 350 * i)
               for i in range(12)])
    pdf = brief_pdf(brief, tmp_path / "简报.pdf")
    assert pages(pdf) == 1
    words = pdf_words(pdf)
    text = "".join(w for w, _ in words)
    for expected in ("鹿城区（300个村社）信访积案化解简报", "还剩11天", "未报：第0村民委员会", "等120个",
                     "LC2010-00009", "-190", "近期走势"):
        assert expected in text
    body = [h for w, h in words if w.startswith("LC2010-")]
    assert min(body) >= 7.5                # points: the case rows print at a readable size


def office(tmp_path: Path) -> Config:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx", "江滨社区积案台账.xlsx"):
        shutil.copyfile(DEMO / name, inbox / name)
    create_settings_workbook(tmp_path / "设置.xlsx")      # the worked example's campaign: 南郊乡, 2010
    return Config(inbox=inbox, master=tmp_path / "输出" / "总台账.xlsx", archive=tmp_path / "存档",
                  logs=tmp_path / "日志", state=tmp_path / "状态", settings_workbook=tmp_path / "设置.xlsx")


def test_the_master_carries_the_brief_with_changes_since_earlier_runs(tmp_path):
    cfg = office(tmp_path)
    api.consolidate(config=cfg, as_of="2010-10-12")
    api.consolidate(config=cfg, as_of="2010-10-19")
    result = api.consolidate(config=cfg, as_of="2010-10-20")
    b = result.brief
    assert b.since_last[0] == date(2010, 10, 19) and b.since_week[0] == date(2010, 10, 12)
    assert b.totals["cases"] == result.cases == 43 and b.totals["overdue"] == result.overdue
    assert [v["overdue"] for v in b.worst_villages] == sorted((v["overdue"] for v in b.worst_villages),
                                                             reverse=True)
    assert len(b.urgent) == 10 and all(c["预警"] in ("逾期", "临期") for c in b.urgent)
    assert [d for d, *_ in b.trend] == [date(2010, 10, 12), date(2010, 10, 19), date(2010, 10, 20)]
    rows = CalamineWorkbook.from_path(str(result.master)).get_sheet_by_name("简报").to_python()
    flat = "".join(str(v) for row in rows for v in row)
    assert "南郊乡信访积案化解简报（截至2010年10月20日）" in flat and "比上次（10-19）" in flat
    petitioners = {str(v) for row in CalamineWorkbook.from_path(str(result.master)).get_sheet_by_name(
        "总台账").to_python()[2:] for v in row[5:6]}
    shown = {c["信访人"] for c in b.urgent}
    assert shown and not shown & petitioners and all("*" in s for s in shown)   # masked


@needs_soffice
def test_brief_command_writes_a_one_page_pdf(tmp_path, capsys):
    cfg = office(tmp_path)
    toml = tmp_path / "taizhang.toml"
    toml.write_text('[paths]\ninbox = "收件箱"\nmaster = "输出/总台账.xlsx"\narchive = "存档"\n'
                    'state = "状态"\nlogs = "日志"\nsettings_workbook = "设置.xlsx"\n', encoding="utf-8")
    assert main(["brief", "--config", str(toml), "--as-of", "2010-10-20"]) == 0
    pdf = cfg.master.with_name("总台账_简报.pdf")
    assert f"简报已写入：{pdf}" in capsys.readouterr().out
    assert pages(pdf) == 1 and "逾期最多的村（社区）" in "".join(w for w, _ in pdf_words(pdf))
