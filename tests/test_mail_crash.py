"""`taizhang fetch-mail` killed at random moments, black-box, against a real Dovecot and a
real SMTP server (aiosmtpd) on 127.0.0.1.

The real command runs as a subprocess in its own process group and is SIGKILLed (with its
reader workers) at moments spread over the measured length of one full run; between kills
`taizhang consolidate` runs too. Whatever the moment, and after every consolidation:

- a stranger's forged 东村 ledger never counts: its case numbers are never in the master and
  none of 东村's real cases is ever reported vanished;
- every message with attachments is answered at least once; a receipt that goes twice (the
  one allowed window: killed after the SMTP server took it, before the record of it) is the
  same bytes with the same Message-ID;
- every attachment has exactly one archive row, and it has a verdict.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import mailserver
from factories.ledgers import LedgerStyle
from mailserver import build_message, write_office
from test_mail_fetch import ADDR, ledger_bytes
from toolkit.core.config import PROJECT_ROOT
from toolkit.intake.archive import SubmissionArchive

pytestmark = [pytest.mark.mail, pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="kills a process group (POSIX)")]
dovecot_server, mailbox = mailserver.dovecot_server, mailserver.mailbox
smtp_server, outbox = mailserver.smtp_server, mailserver.outbox

STRANGER = "stranger@qq.com"
KILLS = 12
PER_RUN = 3                             # new messages before each run
CONSOLIDATE_AFTER = (3, 6, 9, 12)       # kills after which a consolidation runs


class Mail:
    """The messages the villages (and a stranger) send, fresh ledgers each time: what each
    message carries, 东村's real case numbers and those of every file that must be held."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.files: dict[str, list[tuple[str, bytes]]] = {}     # Message-ID -> [(sender, bytes)]
        self.east_ids: set[str] = set()
        self.held_ids: set[str] = set()         # the stranger's forged files, 北村's sent by 南村
        self.sent = 0

    def _ledger(self, village: str, name: str, prefix: str, n: int = 3, faulty: bool = False,
                held: bool = False) -> tuple[str, bytes]:
        """A fresh ledger; every file's case numbers start with its own ``prefix``."""
        self.sent += 1
        layout = LedgerStyle(faults=("bad_id_check",), phone_as_number=False) if faulty else LedgerStyle()
        data, sample = ledger_bytes(self.tmp, village, name=f"{self.sent}-{name}", n_cases=n,
                                    seed=self.sent, prefix=prefix, layout=layout)
        ids = {c["case_id"] for c in sample.cases}
        if held:
            self.held_ids |= ids
        elif prefix == "DC-":
            self.east_ids |= ids
        return name, data

    def message(self, kind: int, tag: str) -> bytes:
        """One of six kinds of message (some with two spreadsheets)."""
        mid = f"<crash-{tag}-{kind}@nanjiao.test>"
        sender, atts = [
            lambda: (ADDR["东村"], [self._ledger("东村", "东村台账.xlsx", "DC-", n=4, faulty=True)]),
            lambda: (ADDR["西村"], [self._ledger("西村", "西村台账.xlsx", "XC-"),
                                   self._ledger("西村", "西村台账（补充）.xlsx", "XB-", faulty=True)]),
            lambda: (ADDR["南村"], [self._ledger("南村", "南村台账.xlsx", "NC-"),
                                   self._ledger("北村", "北村台账.xlsx", "BX-", held=True)]),
            lambda: (STRANGER, [self._ledger("东村", "东村台账.xlsx", "WZ-", n=4, held=True)]),
            lambda: (ADDR["北村"], [self._ledger("北村", "北村台账.xlsx", "BC-")]),
            lambda: (ADDR["江滨社区"], [self._ledger("江滨社区", "江滨社区台账.xlsx", "JB-")]),
        ][kind % 6]()
        self.files[mid] = [(sender, data) for _, data in atts]
        return build_message(sender=sender, subject=f"台账 {tag}-{kind}", attachments=atts,
                             message_id=mid)


def command(toml: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit.shells.cli", *args, "--config", str(toml)]


def start(toml: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(command(toml, *args), cwd=toml.parent, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(toml: Path, *args: str) -> tuple[int, str]:
    proc = start(toml, *args)
    out, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode("utf-8", "replace")
    return proc.returncode, out.decode("utf-8")


def kill_at(toml: Path, delay: float) -> str:
    proc = start(toml, "fetch-mail", "--json")
    time.sleep(delay)
    done = proc.poll() is not None
    if not done:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    return "finished" if done else "killed"


def check_consolidation(toml: Path, mail: Mail) -> dict:
    rc, out = finish(toml, "consolidate", "--json")
    res = json.loads(out)
    assert rc in (0, 1) and res["master"], res
    rows = CalamineWorkbook.from_path(res["master"]).get_sheet_by_name("总台账").to_python()
    in_master = {str(c) for r in rows for c in r}
    assert not mail.held_ids & in_master, "a held file's cases reached the master"
    assert not [v for v in res["vanished"] if v["case_id"] in mail.east_ids], res["vanished"]
    assert all(v["cases"] == 4 for v in res["villages"] if v["village"] == "东村")
    stranger = [s for s in SubmissionArchive(toml.parent / "存档").history() if s.sender == STRANGER]
    assert all(not s.counts and s.village is None and s.outcome in (None, "held") for s in stranger)
    return res


def check_receipts(smtp, files: dict) -> dict[str, int]:
    """Every message answered; a receipt sent twice is the same bytes. Receipts per message."""
    got = defaultdict(list)
    for _, _, raw in smtp.messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        got[msg["In-Reply-To"]].append((msg["Message-ID"], raw))
    assert set(got) == set(files), set(files) - set(got)
    for mid, sent in got.items():
        assert len({rid for rid, _ in sent}) == 1, f"{mid}: {len(sent)} different receipts"
        assert len({raw for _, raw in sent}) == 1, f"{mid}: a repeated receipt changed"
    return {mid: len(sent) for mid, sent in got.items()}


def check_archive(archive_root: Path, files: dict) -> None:
    """Exactly one row with a verdict for every (bytes, sender) that arrived."""
    rows = SubmissionArchive(archive_root).history()
    sent = {(hashlib.sha256(data).hexdigest(), sender) for atts in files.values() for sender, data in atts}
    assert len(rows) == len(sent)
    for sha, sender in sent:
        (row,) = [r for r in rows if (r.sha256, r.sender) == (sha, sender)]
        assert row.outcome is not None, row


def test_fetch_mail_killed_anywhere_never_counts_a_stranger_and_answers_every_message(
        tmp_path, mailbox, outbox):
    mail = Mail(tmp_path)
    # one full run over a batch, in a throw-away office, measures how long a run takes
    for kind in range(PER_RUN):
        mailbox.append(mail.message(kind, "trial"))
    trial = write_office(tmp_path / "试跑", mailbox, outbox, processed_folder="已处理台账")
    began = time.monotonic()
    assert finish(trial, "fetch-mail", "--json")[0] == 1
    full = time.monotonic() - began
    mailbox.empty()
    outbox.clear()
    mail.files.clear()

    toml = write_office(tmp_path / "南郊乡", mailbox, outbox, processed_folder="已处理台账")
    for kind in range(6):                       # every kind waiting at the start
        mailbox.append(mail.message(kind, "0"))
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20101020")))    # another seed: other moments
    fates = []
    for n in range(1, KILLS + 1):
        for k in range(PER_RUN):                # and new work before every run
            mailbox.append(mail.message(PER_RUN * n + k, str(n)))
        delay = rng.uniform(0.05, full)
        fates.append(f"{delay:.2f}s {kill_at(toml, delay)}")
        if n in CONSOLIDATE_AFTER:
            check_consolidation(toml, mail)
    print(f"one full run: {full:.2f}s; runs: {', '.join(fates)}")

    rc, out = finish(toml, "fetch-mail", "--json")
    assert rc in (0, 1) and json.loads(out)["connect_error"] is None
    rc, out = finish(toml, "fetch-mail", "--json")         # nothing left over
    again = json.loads(out)
    assert (again["messages"], again["files"], again["receipts_pending"]) == (0, [], 0)
    res = check_consolidation(toml, mail)
    assert {v["village"] for v in res["villages"]} == {"东村", "西村", "南村", "北村", "江滨社区"}
    counts = check_receipts(outbox, mail.files)
    print(f"{len(mail.files)} messages; receipts per message: {sorted(counts.values())}")
    check_archive(toml.parent / "存档", mail.files)
