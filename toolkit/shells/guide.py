"""The clerk's guide (docs/guide.md), wherever the toolkit runs: `taizhang guide`, the button
server's /guide page, the workbench's help.

In a checkout the guide is docs/guide.md; an installed package carries the same file as data
(pyproject.toml ``[tool.setuptools.data-files]``: ``<venv>/share/taizhang/guide.md``), found
through the package's own file list. A browser shows it as HTML made here from the Markdown
the guide uses (headings, paragraphs, lists, tables, code blocks, links, bold, code).
"""
from __future__ import annotations

import html
import re
import webbrowser
from importlib import metadata
from pathlib import Path

from toolkit.core.config import PROJECT_ROOT
from toolkit.core.errors import TaizhangError

GUIDE_NAME = "guide.md"
TITLE = "信访积案台账工具 使用说明"


def guide_path() -> Path:
    """docs/guide.md of a checkout, else the copy installed with the package."""
    here = PROJECT_ROOT / "docs" / GUIDE_NAME
    if here.is_file():
        return here
    try:
        files = metadata.distribution("taizhang").files or []
    except metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == GUIDE_NAME and "taizhang" in f.parts:
            path = Path(f.locate()).resolve()
            if path.is_file():
                return path
    raise TaizhangError("找不到使用说明：工具包可能没有装全。请重新安装（pip install --force-reinstall taizhang），"
                        "或向技术人员索取 guide.md。")


def guide_text() -> str:
    return guide_path().read_text(encoding="utf-8")


def write_guide_html(out: Path | str) -> Path:
    """The guide as one HTML page (UTF-8), for a browser."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(guide_html(), encoding="utf-8")
    return out


def open_guide(folder: Path | str) -> Path | None:
    """Write the HTML guide into ``folder`` and open it in the browser; None when no browser."""
    page = write_guide_html(Path(folder) / "使用说明.html")
    try:
        return page if webbrowser.open(page.as_uri()) else None
    except webbrowser.Error:
        return None


# --- Markdown, as far as the guide uses it ------------------------------------------------------
STYLE = ("body{font-family:'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;max-width:60em;"
         "margin:2em auto;padding:0 1em;line-height:1.7;color:#222}pre{background:#f4f4f4;padding:.8em;"
         "overflow-x:auto;white-space:pre-wrap}code{background:#f4f4f4;padding:0 .2em}"
         "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .5em;vertical-align:top}"
         "th{background:#e8eef7}h2{border-bottom:1px solid #ccc;margin-top:2em}")


def guide_html(text: str | None = None) -> str:
    body = markdown_html(guide_text() if text is None else text)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def markdown_html(text: str) -> str:
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:end])) + "</pre>")
            i = end + 1
        elif m := re.match(r"(#{1,6})\s+(.*)", line):
            level = len(m[1])
            out.append(f'<h{level} id="{html.escape(_anchor(m[2]))}">{_inline(m[2])}</h{level}>')
            i += 1
        elif line.startswith("|"):
            i = _table(lines, i, out)
        elif re.match(r"\s*([-*]|\d+\.)\s", line):
            i = _list(lines, i, out)
        elif not line.strip():
            i += 1
        else:
            para = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r"(#|```|\||\s*([-*]|\d+\.)\s)", lines[i]):
                para.append(lines[i])
                i += 1
            out.append("<p>" + _inline(" ".join(p.strip() for p in para)) + "</p>")
    return "\n".join(out)


def _table(lines: list[str], i: int, out: list[str]) -> int:
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        if not all(re.fullmatch(r":?-+:?", c) for c in cells):
            rows.append(cells)
        i += 1
    head, *body = rows or [[]]
    out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
               + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
               + "</table>")
    return i


def _list(lines: list[str], i: int, out: list[str]) -> int:
    ordered = bool(re.match(r"\s*\d+\.", lines[i]))
    items: list[str] = []
    while i < len(lines) and lines[i].strip():
        m = re.match(r"\s*([-*]|\d+\.)\s+(.*)", lines[i])
        if m and not lines[i].startswith("    "):
            items.append(m[2])
        elif items:
            items[-1] += " " + lines[i].strip()     # a continuation line
        i += 1
    tag = "ol" if ordered else "ul"
    out.append(f"<{tag}>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + f"</{tag}>")
    return i


def _inline(text: str) -> str:
    parts = re.split(r"(`[^`]*`)", text)
    done = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            done.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", _link, s)
        done.append(s)
    return "".join(done)


def _link(m: re.Match) -> str:
    """Links inside the guide (and to the web) stay links; the other documents are not installed
    with it, so a link to one is shown as its text."""
    text, target = m[1], m[2]
    if target.startswith(GUIDE_NAME + "#"):
        target = target[len(GUIDE_NAME):]
    if target.startswith("#") or target.startswith(("http://", "https://")):
        return f'<a href="{html.escape(target, quote=True)}">{text}</a>'
    return text


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")
