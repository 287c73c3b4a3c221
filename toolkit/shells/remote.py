"""The xlwings remote side of the buttons: the JSON xlwings' VBA client sends
(``RunRemotePython``, toolkit/shells/vba/xlwings/Remote.bas) and running one button on it.

``vba_payload`` builds the same JSON from a file (tests, benchmarks); ``run_handler`` runs a
handler of :mod:`toolkit.shells.buttons` on ``xw.Book(json=payload)`` and returns the actions
the client applies. :mod:`toolkit.shells.server` serves these over HTTP.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

HANDLERS = ("validate_active_sheet", "fill_active_sheet", "consolidate_all", "check_setup")


# --- the payload the VBA client sends ---------------------------------------------------
def vba_payload(path: Path | str, *, active_sheet: str | None = None, name: str | None = None,
                version: str | None = None) -> dict:
    """The JSON ``RunRemotePython`` sends for the workbook at ``path``, as Remote.bas
    builds it: every worksheet's values from A1 to the end of its used range, with
    VBA's JSON conventions (WebHelpers.ConvertToJson): empty -> null, dates ->
    "yyyy-mm-ddTHH:MM:SS.000Z", numbers as VBA prints them (at most 15 significant
    digits), and a text of 16-100 characters of digits/./E/e sent unquoted as a number.
    Values are read with python-calamine (the file must be trusted or pre-flighted)."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    if version is None:
        import xlwings
        version = xlwings.__version__
    path = Path(path)
    sheets = []
    with CalamineWorkbook.from_path(str(path)) as wb:
        names = [m.name for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        for sheet_name in names:
            rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            width = max((len(r) for r in rows), default=0)
            values = [[_vba_json(v) for v in list(r) + [""] * (width - len(r))] for r in rows]
            sheets.append({"name": sheet_name, "pictures": [], "tables": [],
                           "values": values if values else [[]]})
    active = names.index(active_sheet) if active_sheet else 0
    payload = {"client": "VBA", "version": version,
               "book": {"name": name or path.name, "active_sheet_index": active, "selection": "A1"},
               "names": [], "sheets": sheets}
    # what goes over the wire: unquoted "large numbers" come back as JSON numbers
    return json.loads(_dumps_vba(payload))


class _Raw(str):
    """A JSON number VBA writes unquoted."""


def _vba_json(v):
    if v == "" or v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, date):
        return v.strftime("%Y-%m-%dT00:00:00.000Z")
    if isinstance(v, (int, float)):
        f = float(v)
        if f.is_integer() and abs(f) < 1e15:
            return int(f)
        return float(format(f, ".15G"))       # VBA's CStr of a Double
    s = str(v)
    if 16 <= len(s) <= 100 and all(c in "0123456789.Ee" for c in s):
        try:
            json.loads(s)
            return _Raw(s)
        except ValueError:
            pass
    return s


def _dumps_vba(obj) -> str:
    if isinstance(obj, _Raw):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dumps_vba(v) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(_dumps_vba(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def ensure_remote_engine():
    """xlwings with its remote engine registered. xlwings registers it at import time
    only when XLWINGS_LICENSE_KEY is set; if xlwings was imported before the key was,
    register it now (importing xlwings.pro checks the key again)."""
    import xlwings as xw

    if "remote" not in [e.name for e in xw.engines]:
        from xlwings.main import Engine
        from xlwings.pro import _xlremote
        xw.engines.add(Engine(impl=_xlremote.engine))
    return xw


def run_handler(handler: str, payload: dict, *, first_line: str = "") -> dict:
    """Run one handler of toolkit.shells.buttons on a payload; return the client's actions.
    ``first_line`` (the server's demo notice) goes first in every message box it shows."""
    from toolkit.shells import buttons as macros

    xw = ensure_remote_engine()

    if handler not in HANDLERS:
        raise KeyError(handler)
    book = xw.Book(json=payload)
    try:
        getattr(macros, handler)(book)
        return with_first_line(book.json(), first_line)
    finally:
        book.close()


def with_first_line(reply: dict, line: str) -> dict:
    """Every ``alert`` action's text (xlwings: args = [prompt, title, buttons, mode, callback])
    starts with ``line``."""
    if line:
        for action in reply.get("actions", []):
            if action.get("func") == "alert" and action.get("args"):
                action["args"][0] = f"{line}\n\n{action['args'][0]}"
    return reply
