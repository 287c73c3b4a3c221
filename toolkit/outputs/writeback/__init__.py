"""Surgical write-back into an existing .xlsx/.xlsm workbook.

openpyxl's load+save drops shapes, form buttons, x14 validations and
conditional formats, threaded comments and printer settings, so the toolkit
never round-trips a clerk's workbook through it. Instead ``patch_workbook``
opens the zip package and edits with lxml only the parts it must:

- the target sheet's XML (``sheet``: cells, ``<dimension>``, new ``<col>`` widths,
  new merged ranges; every other element of the sheet, extLst included, is kept),
- ``xl/styles.xml`` (``styles``: new fonts, fills, number formats and cell formats
  are APPENDED, never renumbered; identical ones are reused, so daily runs do not
  grow the file),
- ``xl/calcChain.xml`` only when a formula cell is overwritten (``workbook``),
- for a new sheet (``newsheet``): the new sheet part, ``xl/workbook.xml``,
  ``xl/_rels/workbook.xml.rels`` and ``[Content_Types].xml``,

and copies every other member unchanged (``package``: same bytes after
decompression, same compression type, same order). Strings are written as inline
strings, so ``sharedStrings.xml`` stays untouched and a text that starts with "="
stays text. The output goes to a temporary file beside the destination, is fsynced
and moved into place with ``os.replace`` (``toolkit.core.files``): a crash leaves
the old file or the complete new one. An in-place write first keeps a copy of the
original in the ``备份`` folder beside the workbook. ``locks`` refuses a workbook
that is open in Excel, WPS or LibreOffice.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

from toolkit.core.cells import column_letter, parse_ref
from toolkit.core.config import BACKUP_DIR
from toolkit.core.files import (TEMP_PREFIX, backup_copy, commit_temp, lock_files, remove_stale_temps, temp_beside,
                                workbook_in_use)
from toolkit.outputs.writeback.locks import in_use_message, writer_lock
from toolkit.outputs.writeback.model import (DATE_FORMAT, KEEP, PATCHABLE_SUFFIXES, CellEdit, NewSheet,
                                             NotPatchable, PatchResult, WorkbookInUse, WritebackError)
from toolkit.outputs.writeback.newsheet import _add_sheet
from toolkit.outputs.writeback.notes import add_notes
from toolkit.outputs.writeback.package import _local, _Package
from toolkit.outputs.writeback.sheet import _Sheet
from toolkit.outputs.writeback.workbook import _prune_calc_chain, _Workbook


# --- entry ----------------------------------------------------------------------------
def patch_workbook(src: Path, dst: Path, edits: Mapping[str, Mapping[str, CellEdit]], *,
                   new_sheets: Sequence[NewSheet] = (),
                   column_widths: Mapping[str, Mapping[int, float]] | None = None,
                   merges: Mapping[str, Sequence[str]] | None = None,
                   print_rows: Mapping[str, int] | None = None,
                   notes: Mapping[str, Mapping[str, str]] | None = None) -> PatchResult:
    """Write ``edits`` (sheet name -> cell ref -> CellEdit) from ``src`` into ``dst``.

    ``dst`` may be ``src`` (in place: the original is backed up first). Column
    widths (0-based column -> width) are set only where the sheet has no
    custom width; ``merges`` adds merged ranges that overlap none; ``print_rows``
    (sheet -> last row) ends a sheet's print area at that row; ``notes`` (sheet -> cell ->
    text) adds notes to cells that have none (toolkit.outputs.writeback.notes).
    """
    src, dst = Path(src), Path(dst)
    check_patchable(src)
    if workbook_in_use(dst):    # reading an open source is harmless; replacing an open file is not
        raise WorkbookInUse(in_use_message(dst))
    in_place = dst.exists() and os.path.samefile(src, dst)
    with writer_lock(dst):
        remove_stale_temps(dst)
        with _open_zip(src) as zf:
            pkg = _Package(zf)
            try:
                _apply(pkg, edits, new_sheets, column_widths or {}, merges or {}, print_rows or {},
                       notes or {})
            except (ValueError, KeyError, IndexError) as e:   # malformed sheet XML
                raise NotPatchable(f"“{src.name}”内部结构异常（{e}），工具没有改动它。"
                                   "请用 Excel/WPS 打开后重新保存再试。") from e
            result = PatchResult(dst, pkg.dirty, *pkg.summary())
            if in_place and not pkg.dirty:
                return result
            with temp_beside(dst) as tmp:
                _write_temp(tmp, pkg)
                zf.close()    # all read: Windows cannot replace a file that is still open
                if in_place:
                    result.backup = backup_original(src)
                _commit(tmp, dst, mode_from=src)
        return result


def check_patchable(path: Path) -> None:
    """Raise NotPatchable with a Chinese reason unless ``path`` is an OOXML workbook."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise NotPatchable(f"找不到文件“{name}”。")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise NotPatchable(f"“{name}”是旧版 .xls 格式，工具无法在不损坏格式的前提下写入。"
                           "请在 Excel/WPS 中“另存为”Excel 工作簿（.xlsx）后再操作。")
    if suffix not in PATCHABLE_SUFFIXES:
        raise NotPatchable(f"“{name}”不是 .xlsx/.xlsm 工作簿，工具只能写入这两种格式。"
                           "请在 Excel/WPS 中另存为 .xlsx 后再操作。")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(8)
        if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise NotPatchable(f"“{name}”设置了打开密码（或实为旧版 .xls），工具无法写入。"
                               "请取消密码并另存为 .xlsx 后再操作。")
        raise NotPatchable(f"“{name}”已损坏或不是 Excel 文件，工具无法写入。"
                           "请用 Excel/WPS 打开确认后另存为 .xlsx。")


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise NotPatchable(f"“{path.name}”无法打开（{e}），工具没有改动它。") from e


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names in order (WritebackError if it is no OOXML workbook)."""
    check_patchable(path)
    with _open_zip(Path(path)) as zf:
        return [name for name, _, _ in _Workbook(_Package(zf)).sheets()]


def used_column_bound(path: Path, sheet: str, rows: set[int]) -> int:
    """The furthest 0-based column holding a value (or formula) in ``rows`` of ``sheet``;
    -1 when none. Fill appends its columns beyond it so nothing a person wrote is covered."""
    check_patchable(path)
    with _open_zip(Path(path)) as zf:
        wb = _Workbook(_Package(zf))
        found = wb.find_sheet(sheet)
        if found is None:
            raise WritebackError(f"工作簿中没有工作表“{sheet}”。")
        s = _Sheet(wb.pkg.xml(found[1]), wb)
        last = -1
        for n in rows:
            row = s.rows.get(n)
            if row is None:
                continue
            for col, c in s.cells(n, row).items():
                if col > last and any(_local(x) in ("v", "is", "f") for x in c):
                    last = col
        return last


# --- applying -------------------------------------------------------------------------
def _apply(pkg: _Package, edits, new_sheets, widths, merges, print_rows, notes) -> None:
    """Every edit, width and merge into its sheet, the print areas and notes, then the new
    sheets, then calcChain."""
    wb = _Workbook(pkg)
    for sheet_name, last_row in print_rows.items():
        wb.trim_print_area(sheet_name, last_row)
    for sheet_name, cell_notes in notes.items():
        found = wb.find_sheet(sheet_name)
        if found is not None:
            add_notes(wb, found[1], cell_notes)
    removed_formulas: list[tuple[str, str]] = []
    for sheet_name, cells in edits.items():
        found = wb.find_sheet(sheet_name)
        if found is None:
            raise WritebackError(f"工作簿中没有工作表“{sheet_name}”，工具没有改动文件。")
        sheet_id, part = found
        sheet = _Sheet(pkg.xml(part), wb)
        for ref, edit in cells.items():
            sheet.set(ref, edit)
        for col, width in (widths.get(sheet_name) or {}).items():
            sheet.set_width(col, width)
        for rng in merges.get(sheet_name) or ():
            sheet.add_merge(rng)
        if sheet.changed:
            sheet.finish()
            pkg.touch(part)
        removed_formulas += [(sheet_id, ref) for ref in sheet.removed_formulas]
    for spec in new_sheets:
        _add_sheet(wb, spec)
    if removed_formulas:
        _prune_calc_chain(wb, removed_formulas)


# --- files ----------------------------------------------------------------------------
def _write_temp(tmp: Path, pkg: _Package) -> None:
    with open(tmp, "wb") as f:
        pkg.write_to(f)


def _commit(tmp: Path, dst: Path, *, mode_from: Path) -> None:
    try:
        commit_temp(tmp, dst, mode_from=mode_from)
    except PermissionError as e:   # Windows: the destination got opened meanwhile
        raise WorkbookInUse(f"无法替换“{dst.name}”：文件可能正被 Excel/WPS 打开，或没有写入权限。"
                            "原文件未改动；请关闭该文件、确认文件夹可写后重试。") from e


def backup_original(path: Path) -> Path:
    """Copy ``path`` into ``备份/<stem>_<YYYYmmdd-HHMMSS>[-n]<ext>`` beside it, unless an
    identical backup exists already; return the backup's path."""
    path = Path(path)
    return backup_copy(path, path.parent / BACKUP_DIR)


__all__ = ["BACKUP_DIR", "CellEdit", "DATE_FORMAT", "KEEP", "NewSheet", "NotPatchable",
           "PatchResult", "TEMP_PREFIX", "WorkbookInUse", "WritebackError", "backup_original",
           "check_patchable", "column_letter", "in_use_message", "lock_files", "parse_ref",
           "patch_workbook", "sheet_names", "used_column_bound", "workbook_in_use"]
