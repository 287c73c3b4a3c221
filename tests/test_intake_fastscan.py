"""The pre-flight's fast "small grid" proof never vouches for a sheet that reaches far.

``_small_bound`` proves with one search of a chunk of sheet XML (two when a reference
has two letters) that no cell or row reference reaches row 1000 or column AAA (or AA).
Whenever it says so, the token walk (the slow, conservative reading) must agree,
whatever the spelling; and the exact reading of cells with a value agrees with the walk.
"""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from toolkit.intake.xmlscan import _SheetGrid, _small_bound

_LETTERS = st.text(alphabet="ABXZab", min_size=0, max_size=3)
_DIGITS = st.text(alphabet="0123456789", min_size=0, max_size=4)


@st.composite
def _tag(draw) -> str:
    name = draw(st.sampled_from(["c", "row", "x:c", "x:row", "ns0:c", "c", "row", "col", "cols"]))
    quote = draw(st.sampled_from(['"', "'"]))
    ref = draw(_LETTERS) + draw(_DIGITS) if "c" in name.split(":")[-1][:1] else draw(_DIGITS)
    attrs = [f"r{draw(st.sampled_from(['=', ' = ']))}{quote}{ref}{quote}"] if draw(st.booleans()) else []
    if draw(st.booleans()):
        attrs.insert(draw(st.integers(0, len(attrs))), 's="1"')
    sep = draw(st.sampled_from([" ", "\n", "\t"]))
    end = draw(st.sampled_from(["/>", ">", " />"]))
    return f"<{name}{sep if attrs else ''}{sep.join(attrs)}{end}"


@settings(max_examples=300, deadline=None)
@example(['<c r="AAa0"/>'], "")                 # calamine reads lower-case letters too
@example(['<x:row r="1">', '<x:c r="Xfd1"/>'], "")
@given(st.lists(_tag(), min_size=1, max_size=12), st.sampled_from(["", "<v>12345</v>", "<t>NJ2010</t>"]))
def test_small_proof_agrees_with_the_walk(tags, filler):
    chunk = filler.join(tags).encode()
    bound = _small_bound(chunk)
    if not bound:
        return          # the exact reading or the walk measures it instead
    grid = _SheetGrid("xl/worksheets/sheet1.xml")
    grid._walk(chunk)
    assert grid._seen[0] <= bound[0] < 1000 and grid._seen[1] <= bound[1] < 703, chunk


_REFS = st.tuples(st.sampled_from(["A", "Z", "AB", "XEB", "XFD"]), st.integers(1, 1_048_576))
_VALUES = st.sampled_from(["", "<v>1</v>", '<is><t>x</t></is>', "<f>1+1</f>", "<f>A1</f><v>2</v>"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_REFS, _VALUES, st.booleans()), min_size=1, max_size=10), st.integers(1, 60))
def test_exact_reading_agrees_with_the_walk_on_cells_with_a_value(cells, cut):
    """Styled empty cells count for neither; split anywhere between tags, the reading is the same."""
    tags = [f'<c r="{col}{row}" s="1"/>' if not value and closed else f'<c r="{col}{row}">{value}</c>'
            for (col, row), value, closed in cells]
    exact, walk = _SheetGrid("s"), _SheetGrid("s")
    at = min(cut, len(tags))
    for part in ("".join(tags[:at]).encode(), "".join(tags[at:]).encode()):
        assert exact._exact(part)
        walk._walk(part)
    assert (exact.rows, exact.cols) == (walk.rows, walk.cols)
    valued = [(row, col) for (col, row), value, _ in cells if "<v>" in value or "<is>" in value]
    if valued:
        assert exact.rows == max(r for r, _ in valued)


def test_prefixed_and_long_references_are_not_small():
    assert _small_bound(b'<row r="1"><c r="A1" s="1"/><c r="AB999"/></row>') == (999, 702)
    assert _small_bound(b'<row r="1"><c r="A1" s="1"/><c r="Z99"/></row>') == (999, 26)
    assert _small_bound(b'<row r="1"><c r="A1"><v>NJ20100</v></c></row>') == (999, 26)   # digits in a value
    for far in (b'<row r="1"><x:c r="XFD1"/></row>', b'<x:row r="1000"><x:c r="A1000"/></x:row>',
                b'<row r="1"><c r="AA1000"/></row>', b'<row r="1"><x:c s="1" r="A1"/></row>',
                b'<x:row r="1"><x:c/></x:row>', b'<row r="1"><c r="A1\'/></row>',
                b'<row r="1"><c r="A1"><x:v>1</x:v></c></row>', b'<row r="1000"><c r="A1"/></row>',
                b'<row r="1"><c s="1" r="A1"/></row>', b'<row r="1"><c\fr="A1"/><c/></row>'):
        assert not _small_bound(far), far


def test_mixed_case_reference_is_measured(tmp_path):
    """calamine reads "Xfd999" as column XFD: a sheet with data and that cell, which would make
    it materialise 999 x 16384 cells, is refused before any parser sees it; alone beside one
    value, the cell is found and left out of the reading (issue 19)."""
    import factories.hostile as hf

    from toolkit.intake import farvalues
    from toolkit.intake.preflight import preflight
    sheet = hf.sheet_xml([[("A1", 1), ("B1", 2), ("C1", 3)], [("Xfd999", 2)]])
    issue = preflight(hf.hand_xlsx(tmp_path / "大小写.xlsx", sheet))
    assert issue is not None and issue.code == "too_large" and "16384" in issue.message
    lone = hf.hand_xlsx(tmp_path / "孤.xlsx", hf.sheet_xml([[("A1", 1)], [("Xfd999", 2)]]))
    assert preflight(lone) is None and farvalues.notes_for(lone)[0].cells == ["XFD999"]
