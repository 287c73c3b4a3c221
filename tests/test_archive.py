"""The submission archive: originals by hash, a SQLite record; what counts per village (the judge's
rules over what the archive recorded, ``toolkit.pipeline.judge.decide``)."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from datetime import datetime, timedelta, timezone

import pytest

from toolkit.core.settings import RosterEntry, Settings
from toolkit.intake.archive import SubmissionArchive
from toolkit.pipeline.judge import decide

SETTINGS = Settings(roster=(RosterEntry("东村", emails=("d@x.com",)), RosterEntry("西村")))


@pytest.fixture
def archive(tmp_path):
    return SubmissionArchive(tmp_path / "archive")


def examined(archive, sub, village="东村", *, cases=3, errors=0, fatal=None, saved=None, index=None):
    """Record what reading the file found, as the judge does."""
    archive.record_findings(sub.id, claimed=village, claimed_from="reporter" if village else None,
                            saved=saved, cases=cases, errors=errors, warnings=0, fatal_code=fatal,
                            fatal_message="坏" if fatal else None, case_index=index)


def counted(archive) -> dict:
    return {v: s.id for v, s in decide(archive, SETTINGS).counted().items()}


def test_original_stored_by_hash_and_read_only(archive, tmp_path):
    data = b"PK\x03\x04 pretend workbook"
    sha = hashlib.sha256(data).hexdigest()
    sub = archive.add(data, filename="东村台账.XLSX", source="mail", sender="dongcun@example.com",
                      subject="东村台账", message_id="<m1@example.com>")
    assert sub.is_new and sub.sha256 == sha
    assert sub.stored_path == tmp_path / "archive" / "objects" / sha[:2] / f"{sha}.xlsx"
    assert sub.stored_path.read_bytes() == data
    assert not sub.stored_path.stat().st_mode & stat.S_IWUSR
    assert archive.has_message("<m1@example.com>") and not archive.has_message("<m2@example.com>")
    assert not list((tmp_path / "archive" / "objects").rglob(".incoming-*"))


def test_same_bytes_twice_is_a_no_op(archive, tmp_path):
    f = tmp_path / "东村.xlsx"
    f.write_bytes(b"same bytes")
    first = archive.add(f, filename="东村.xlsx", source="inbox")
    again = archive.add(b"same bytes", filename="东村(1).xlsx", source="inbox")
    assert first.is_new and not again.is_new
    assert again.id == first.id and again.filename == "东村.xlsx"
    mailed = archive.add(b"same bytes", filename="东村.xlsx", source="mail", sender="Dong@X.com",
                         message_id="<m1@x>")
    resent = archive.add(b"same bytes", filename="东村(2).xlsx", source="mail", sender="dong@x.com",
                         message_id="<dup@x>")
    assert mailed.is_new and not resent.is_new and resent.id == mailed.id
    assert len(archive.history()) == 2
    # the mail engineer need not fetch that message again
    assert archive.has_message("<dup@x>")


def test_same_bytes_from_another_sender_are_a_submission_of_their_own(archive):
    """Identity is (bytes, sender, channel): one stored original, separate judgements."""
    village = archive.add(b"ledger", filename="东村.xlsx", source="mail", sender="d@x.com")
    examined(archive, village)
    stranger = archive.add(b"ledger", filename="东村.xlsx", source="mail", sender="stranger@qq.com")
    assert stranger.is_new and stranger.id != village.id and stranger.outcome is None
    assert stranger.stored_path == village.stored_path
    assert len(list((archive.root / "objects").rglob("*.xlsx"))) == 1
    inbox = archive.add(b"ledger", filename="东村.xlsx", source="inbox")
    assert inbox.id not in (village.id, stranger.id)
    examined(archive, stranger)
    examined(archive, inbox)
    st = decide(archive, SETTINGS)
    assert st.subs[stranger.id].held and st.subs[stranger.id].village is None     # judged on its own
    assert st.counted()["东村"].id in (village.id, inbox.id)
    with pytest.raises(ValueError):
        archive.add(b"ledger", filename="东村.xlsx", source="button")       # no such channel


def test_release_and_withdraw_keep_everything(archive):
    t0 = datetime(2010, 9, 1, 8, 0)
    good = archive.add(b"v1", filename="东村.xlsx", source="mail", sender="d@x.com", received=t0)
    examined(archive, good)
    held = archive.add(b"v2", filename="东村.xlsx", source="mail", sender="s@x.com",
                       received=t0 + timedelta(days=1))
    examined(archive, held, cases=4, errors=2)
    assert counted(archive) == {"东村": good.id}
    released = archive.release(held.id, village="东村", by="王芳")
    assert (released.released_by, released.assigned) == ("王芳", "东村")
    assert counted(archive) == {"东村": held.id}
    assert archive.get(held.id).outcome == "has_errors" and archive.get(held.id).counted
    gone = archive.withdraw(held.id, reason="发错了", by="王芳")
    assert gone.withdrawn and gone.stored_path.exists()
    assert counted(archive) == {"东村": good.id}          # the previous good one again
    assert not archive.get(held.id).counted and len(archive.history()) == 2
    assert [(a["action"], a["by"], a["reason"]) for a in archive.actions()] == [
        ("release", "王芳", None), ("withdraw", "王芳", "发错了")]
    with pytest.raises(ValueError):
        archive.withdraw(held.id, reason="again", by="x")
    with pytest.raises(ValueError):
        archive.release(good.id, village="东村", by="x")           # it counts already


def test_an_archive_from_before_sender_identity_is_migrated(tmp_path):
    root = tmp_path / "old"
    (root / "objects").mkdir(parents=True)
    db = sqlite3.connect(root / "submissions.sqlite")
    db.executescript("""
CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, village TEXT, filename TEXT NOT NULL,
    source TEXT NOT NULL, sender TEXT, subject TEXT, message_id TEXT, received TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, stored TEXT NOT NULL, outcome TEXT,
    cases INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0, code TEXT, message TEXT, case_index TEXT, processed TEXT);
CREATE TABLE messages (message_id TEXT PRIMARY KEY, submission_id INTEGER NOT NULL
    REFERENCES submissions (id), received TEXT NOT NULL);
INSERT INTO submissions (village, filename, source, sender, received, sha256, size, stored, outcome)
    VALUES ('东村', '东村.xlsx', 'mail', 'd@x.com', '2010-09-01T08:00:00', 'abc', 3, 'objects/ab/abc.xlsx', 'ok');
""")
    db.commit()
    db.close()
    archive = SubmissionArchive(root)
    (old,) = archive.history()
    assert (old.village, old.outcome, old.sha256) == ("东村", "ok", "abc")
    archive.add(b"abc-bytes", filename="x.xlsx", source="inbox")
    assert len(archive.history()) == 2
    archive.close()
    again = SubmissionArchive(root)                # opening twice changes nothing
    assert len(again.history()) == 2


def test_a_later_bad_file_never_replaces_a_good_one(archive):
    t0 = datetime(2010, 9, 1, 8, 0)
    good = archive.add(b"v1", filename="东村.xlsx", source="inbox", received=t0)
    examined(archive, good, index={"NJ-1": "化解中", "NJ-2": "已销号"})
    bad = archive.add(b"bad1", filename="东村.xlsx", source="mail", sender="d@x.com",
                      received=t0 + timedelta(days=1))
    examined(archive, bad, None, fatal="unreadable")
    stranger = archive.add(b"bad2", filename="东村.xlsx", source="mail", sender="s@x.com",
                           received=t0 + timedelta(days=2))
    examined(archive, stranger)
    st = decide(archive, SETTINGS)
    assert st.counted()["东村"].id == good.id
    assert st.counted()["东村"].case_index == {"NJ-1": "化解中", "NJ-2": "已销号"}
    assert st.villages["东村"].last.id == bad.id and st.subs[bad.id].outcome == "rejected"
    assert st.subs[stranger.id].held and [s.id for s in st.held] == [stranger.id]
    newer = archive.add(b"v2", filename="东村.xlsx", source="inbox", received=t0 + timedelta(days=5))
    examined(archive, newer, cases=2, errors=1)
    st = decide(archive, SETTINGS)
    assert st.counted()["东村"].id == newer.id and st.villages["东村"].previous.id == good.id
    assert st.subs[newer.id].outcome == "has_errors"


def test_unexamined_until_the_judge_records_what_the_file_is(archive):
    sub = archive.add(b"x", filename="西村.xls", source="inbox")
    assert [s.id for s in archive.unexamined()] == [sub.id]
    assert decide(archive, SETTINGS).pending[0].id == sub.id and counted(archive) == {}
    examined(archive, sub, None, fatal="unreadable")
    assert archive.unexamined() == []
    st = decide(archive, SETTINGS)
    assert st.subs[sub.id].outcome == "rejected" and counted(archive) == {}


def test_received_times_share_one_clock(archive):
    aware = datetime(2010, 9, 1, 0, 30, tzinfo=timezone.utc)
    sub = archive.add(b"y", filename="a.xlsx", source="mail", received=aware)
    assert sub.received == aware.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")


def test_verify_finds_a_changed_original(archive):
    sub = archive.add(b"original", filename="a.xlsx", source="inbox")
    assert archive.verify() == []
    os.chmod(sub.stored_path, stat.S_IWUSR | stat.S_IRUSR)
    sub.stored_path.write_bytes(b"tampered")
    problems = archive.verify()
    assert len(problems) == 1 and "哈希" in problems[0]


def test_database_is_wal_and_reopens(tmp_path):
    SubmissionArchive(tmp_path / "a").add(b"z", filename="z.xlsx", source="inbox")
    again = SubmissionArchive(tmp_path / "a")
    assert len(again.history()) == 1
    with sqlite3.connect(again.db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
