"""Pages a clerk prints, rendered by LibreOffice: the title on page 1, no blank-row pages."""
from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import needs_soffice
from factories import libreoffice as lo
from factories.ledgers import LedgerStyle, make_ledger
from toolkit import annotate, validate
from toolkit.outputs.template import LEDGER_SHEET, write_template


def pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout
    return text.split("\f")[:-1]


def ledger_sheet_pages(pages: list[str]) -> list[str]:
    """The pages from the ledger sheet's first (填报单位 row) up to the 校验结果 sheet."""
    first = next(i for i, p in enumerate(pages) if "填报单位（盖章）：东村" in p)
    end = next((i for i, p in enumerate(pages) if "校验结果：" in p), len(pages))
    return pages[first:end]


@needs_soffice
def test_template_title_prints_on_the_first_ledger_page(tmp_path):
    path = write_template(tmp_path / "东村台账模板.xlsx", village="东村")
    (pdf,) = lo.convert([path], "pdf", tmp_path)
    pages = pdf_pages(pdf)
    first = next(i for i, p in enumerate(pages) if "填报单位（盖章）：东村" in p)
    assert "南郊乡东村信访积案化解工作台账" in pages[first]


@needs_soffice
def test_annotated_copy_of_a_few_cases_prints_only_their_rows(tmp_path):
    sample = make_ledger(tmp_path / "东村台账.xlsx", village="东村", n_cases=4,
                         layout=LedgerStyle(template=True, faults=("unknown_status",)))
    (ledger,) = validate([sample.path], as_of="2010-10-20")
    assert ledger.errors == 1
    ((_, copy),) = annotate([ledger], tmp_path / "副本")
    pdfs = lo.convert([sample.path, copy], "pdf", tmp_path / "pdf")
    original, annotated = (pdf_pages(p) for p in pdfs)
    ledger_pages = ledger_sheet_pages(annotated)
    assert len(ledger_pages) == 3 < len(ledger_sheet_pages(original))    # 3 across, 1 down
    assert "南郊乡东村信访积案化解工作台账" in ledger_pages[0]
    result = [p for p in annotated if "校验结果：" in p]
    assert len(result) == 1 and "怎么改" in result[0] and "无法识别" in result[0]
    assert LEDGER_SHEET in ledger.sheet
    # LibreOffice reads the red cell's note: saved again by LibreOffice, read back by openpyxl
    import openpyxl
    (resaved,) = lo.convert([copy], "xlsx", tmp_path / "lo")
    ws = openpyxl.load_workbook(resaved)[ledger.sheet]
    (cell,) = [i.cell for i in ledger.issues if i.cell]
    assert "无法识别" in ws[cell].comment.text and "怎么改" in ws[cell].comment.text
