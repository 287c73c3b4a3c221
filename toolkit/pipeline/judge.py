"""The one judge of what counts: for every archived submission, what it is and whether it counts.

Consolidation, the mail intake, reminders and ``taizhang submissions`` all ask ``judge``; none
decides on its own. The judge

1. examines every submission not yet examined (new, or left by an interrupted run of any
   command; for consolidation and reminders also those read with other 表头别名 than the
   township's now): reads it through the parse cache, validates and computes it
   (``toolkit.pipeline.check``) and records what the file is in the archive, once: the village
   it names itself, the time it says it was last saved, cases, errors, whether it can be used
   at all;
2. gives every submission its verdict by rules that look only at what the archive recorded
   (the file's findings, the channel, the sender and the receiving server's checks, the
   clerk's acts) and at the roster, never at which command is running (``verdict_of``);
3. picks, per village, the one submission that counts: the version the village saved last
   (``version_key``), and writes the verdicts back (the archive's ``outcome``/``counts``);
4. checks the submissions the caller needs (those that count, a message's files) for the
   caller's date, and returns it all as values (``Judgement``).

The rules (docs/design.md, 一个裁判):

- a file that cannot be used (unreadable, not a ledger, no 案件编号 column) is ``rejected``;
- a file a clerk assigned to a village (``assign``, ``release --village``) is that village's;
- a mailed file is the village whose address sent it (the 村名册): a sender not on the roster,
  a From the receiving server marked as failing SPF/DKIM/DMARC, or a file naming another
  village is ``held``; a held file is never filed under a village and never counts;
- a file uploaded on the office page is the village its link was made for (the archive
  records it on arrival, ``vouched``; a revoked link never gets that far): no such village,
  or a file naming another village, is ``held``;
- a file from the inbox is the village it names (template marker, 填报单位, 村（社区）column,
  file name), matched to the roster (东村村委会 = 东村); with a non-empty roster a name not on
  it is ``held`` with the nearest roster name suggested;
- of a village's usable submissions the one saved last counts: the file's own last-saved
  time (its arrival when it has none, or when it claims a time after its arrival), arrival
  breaking ties; a clerk's ``release`` makes a submission count as if saved at that moment.
"""
from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Iterable, Sequence

from toolkit.core.issues import CATALOGUE, Code, Issue, make_issue
from toolkit.core.ledger import Ledger
from toolkit.core.settings import Settings
from toolkit.intake.archive import USABLE, Submission, SubmissionArchive
from toolkit.pipeline.check import check_ledgers
from toolkit.pipeline.submissions import case_index_of, fatal_issue, read_submissions
from toolkit.read.village import village_from_filename

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.pipeline.parse_cache import ParseCache

log = logging.getLogger("taizhang.judge")


# --- the roster ------------------------------------------------------------------------------
class Roster:
    """The 村名册 as the judge uses it: which village a name or an address means."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.names = [r.village for r in settings.roster]
        self.township = settings.campaign.township

    @property
    def empty(self) -> bool:
        return not self.names

    def village_of(self, name: str) -> str | None:
        """The roster's own spelling of ``name`` (东村村委会, 南郊乡东村 -> 东村), or None."""
        if name in self.names:
            return name
        return next((v for v in self.names if same_village(name, v, self.township)), None)

    def nearest(self, name: str) -> str | None:
        """The roster name a misspelt name most likely means (None: nothing close)."""
        return nearest_name(name, self.names)

    def village_for_email(self, address: str | None) -> str | None:
        return self.settings.village_for_email(address) if address else None


def same_village(a: str, b: str, township: str = "") -> bool:
    """东村 = 南郊乡东村 = 东村村委会; 前垟 = 前垟村."""
    def norm(v: str) -> str:
        v = "".join(v.split()).replace("（", "(").replace("）", ")")
        if township and v.startswith(township):
            v = v[len(township):]
        for tail in ("村民委员会", "居民委员会", "村委会", "居委会"):
            if v.endswith(tail) and len(v) > len(tail):
                v = v[:-len(tail)] + ("村" if tail.startswith("村") else "社区")
        return v
    x, y = norm(a), norm(b)
    return x == y or x in (y + "村", y + "社区") or y in (x + "村", x + "社区")


_PLACE_TAILS = ("村民委员会", "居民委员会", "村委会", "居委会", "社区", "村")


def _stem(name: str) -> str:
    """The part of a village name that tells villages apart: 上塘村 -> 上塘, 江滨社区 -> 江滨."""
    name = "".join(name.split())
    for tail in _PLACE_TAILS:
        if name.endswith(tail) and len(name) > len(tail):
            return name[:-len(tail)]
    return name


def nearest_name(name: str, names: Sequence[str]) -> str | None:
    """The roster name ``name`` is most likely a slip of (上唐村 -> 上塘村, 江滨村 -> 江滨社区).
    Names are compared without 村/社区, so 北村 never suggests 西村: half of what tells two
    villages apart must be the same (南村 may be 南湾村 shortened), else nothing is suggested."""
    stem = _stem(name)
    scored = [(difflib.SequenceMatcher(None, stem, _stem(v)).ratio(), v) for v in names]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.5 else None


# --- one submission's verdict ------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    village: str | None                 # filed under (None: no village)
    outcome: str | None                 # ok | has_errors | held | rejected; None: not examined
    reason: Issue | None = None         # why held or rejected


def verdict_of(sub: Submission, roster: Roster) -> Verdict:
    """What ``sub`` is, from what the archive recorded and the roster (see the module doc)."""
    if not sub.examined:
        return Verdict(None, None)
    village, hold = _filing(sub, roster)
    if sub.fatal_code:
        return Verdict(None if hold else village, "rejected",
                       recorded_issue(sub.fatal_code, sub.fatal_message, sub.filename))
    if hold is not None:
        return Verdict(None, "held", hold)
    return Verdict(village, "has_errors" if sub.errors else "ok")


def _filing(sub: Submission, roster: Roster) -> tuple[str | None, Issue | None]:
    """(the village ``sub`` belongs to, why it must be held instead)."""
    if sub.source == "mail" and not sub.assigned:
        return _mailed(sub, roster)
    if sub.source == "portal" and not sub.assigned:
        return _linked(sub, roster)
    claimed = sub.assigned or sub.claimed
    if not claimed:
        return None, None
    if roster.empty:
        return claimed, None
    village = roster.village_of(claimed)
    if village is not None:
        return village, None
    near = roster.nearest(claimed)
    return None, make_issue(Code.NOT_ON_ROSTER, file=sub.filename, village=claimed,
                            nearest=f"（名册中最接近的是“{near}”）" if near else "",
                            suggest=near or "名册中的村名")


def _mailed(sub: Submission, roster: Roster) -> tuple[str | None, Issue | None]:
    home = roster.village_for_email(sub.sender)
    if home is None:
        return None, make_issue(Code.UNKNOWN_SENDER, sender=sub.sender or "（未知）", file=sub.filename)
    if sub.auth and not sub.released:
        return None, make_issue(Code.AUTH_FAILED, sender=sub.sender, file=sub.filename, auth=sub.auth)
    return _vouched_for(sub, home, roster)


def _linked(sub: Submission, roster: Roster) -> tuple[str | None, Issue | None]:
    """An upload on the office page: the village its link was made for (recorded on arrival)
    vouches like a rostered sender; no valid link, or a village gone from the roster, holds it."""
    home = sub.vouched and (roster.village_of(sub.vouched) or (sub.vouched if roster.empty else None))
    if not home:
        return None, make_issue(Code.LINK_INVALID, file=sub.filename, link=sub.sender or "（未知）")
    return _vouched_for(sub, home, roster)


def _vouched_for(sub: Submission, home: str, roster: Roster) -> tuple[str | None, Issue | None]:
    """``home`` vouched for by the channel, unless the file names another village itself."""
    own = sub.claimed if sub.claimed_from not in (None, "filename") else None
    if own and not same_village(own, home, roster.township):
        return None, make_issue(Code.VILLAGE_MISMATCH, village=own, expected=home, file=sub.filename)
    return home, None


def recorded_issue(code: str | None, message: str | None, filename: str) -> Issue:
    """An issue the archive kept as code and message, whole again (title, action from the catalogue)."""
    kind = CATALOGUE.get(code or "", CATALOGUE[Code.UNREADABLE])
    return Issue(severity=kind.severity, code=kind.code, message=message or kind.title,
                 action=kind.action, file=filename)


def version_key(sub: Submission) -> tuple[str, str, int]:
    """Which of a village's submissions is its newest version: the time the file says it was
    saved (its arrival if none, or if it claims a time after it arrived), raised to the moment
    a clerk released it; then arrival; then the row."""
    when = sub.saved if sub.saved and sub.saved <= sub.received else sub.received
    if sub.released and sub.released > when:
        when = sub.released
    return (when, sub.received, sub.id)


# --- every submission's verdict ---------------------------------------------------------------------
@dataclass
class VillageStanding:
    village: str
    on_roster: bool
    counted: Submission | None = None
    versions: list[Submission] = field(default_factory=list)   # usable, newest version first
    history: list[Submission] = field(default_factory=list)    # filed under it, arrival order

    @property
    def last(self) -> Submission | None:
        """The latest arrival filed under this village (any outcome)."""
        return self.history[-1] if self.history else None

    @property
    def older_resent(self) -> list[Submission]:
        """Usable versions that arrived after the one that counts but are older than it."""
        if self.counted is None:
            return []
        return [s for s in self.versions[1:] if s.order > self.counted.order]

    @property
    def previous(self) -> Submission | None:
        """The version just before the one that counts (what vanished cases compare with)."""
        return self.versions[1] if len(self.versions) > 1 else None


@dataclass
class Standing:
    """Every submission with its verdict, per village what counts, and what has no village."""
    roster: Roster
    subs: dict[int, Submission]
    villages: dict[str, VillageStanding]          # roster order, then other villages by name
    held: list[Submission] = field(default_factory=list)       # waiting for a clerk, newest first
    unfiled: list[Submission] = field(default_factory=list)    # no village: rejected or withdrawn, newest first
    pending: list[Submission] = field(default_factory=list)    # not examined (this run could not)

    def counted(self) -> dict[str, Submission]:
        return {v: s.counted for v, s in self.villages.items() if s.counted is not None}

    def missing(self) -> list[str]:
        """Roster villages with nothing that counts (未报)."""
        return [v for v in self.roster.names if self.villages[v].counted is None]


def standing_of(subs: Iterable[Submission], roster: Roster) -> Standing:
    """Apply the rules to every submission (copies: the caller's rows are not changed)."""
    judged = {}
    for sub in subs:
        v = verdict_of(sub, roster)
        judged[sub.id] = replace(sub, village=v.village, outcome=v.outcome, counts=False,
                                 code=v.reason.code if v.reason else None,
                                 message=v.reason.message if v.reason else None)
    names = list(roster.names) + sorted({s.village for s in judged.values() if s.village}
                                        - set(roster.names))
    villages = {v: VillageStanding(v, v in roster.names) for v in names}
    ordered = sorted(judged.values(), key=lambda s: s.order)
    for sub in ordered:
        if sub.village:
            villages[sub.village].history.append(sub)
    for vs in villages.values():
        vs.versions = sorted((s for s in vs.history if s.outcome in USABLE and not s.withdrawn),
                             key=version_key, reverse=True)
        if vs.versions:
            vs.counted = vs.versions[0]
            vs.counted.counts = True
    newest = list(reversed(ordered))
    return Standing(roster, judged, villages,
                    held=[s for s in newest if s.held],
                    unfiled=[s for s in newest if not s.village and (s.withdrawn or s.outcome == "rejected")],
                    pending=[s for s in newest if s.outcome is None])


# --- a judgement ------------------------------------------------------------------------------------
@dataclass
class Checked:
    """One archived file as read, validated and computed for the judgement's date."""
    submission: Submission
    ledger: Ledger
    computed: "pd.DataFrame"


@dataclass
class Judgement:
    standing: Standing
    checked: dict[int, Checked]             # by submission id: what was read this time
    examined: list[int] = field(default_factory=list)     # ids examined for the first time now
    problems: list[str] = field(default_factory=list)     # Chinese, for the clerk


# A backlog larger than this (an archive examined again after an upgrade, a first day of a
# thousand villages) is examined in parts: only what the caller needs is kept in memory, and
# the files that count are read back from the parse cache afterwards.
EXAMINE_AT_ONCE = 400


def judge(archive: SubmissionArchive, settings: Settings, *, as_of: date, cache: "ParseCache",
          check: Iterable[int] = (), counted: bool = True) -> Judgement:
    """Examine what is new, decide what counts, check what the caller needs.

    ``check``: submission ids the caller wants read and checked for ``as_of`` (a message's
    files); ``counted``: also every submission that counts (consolidation, reminders).
    """
    roster = Roster(settings)
    wanted = set(check)
    # files read with other 表头别名 are examined again by the runs that build on every
    # counted file (consolidation, reminders), not inside a mail fetch or an upload's answer
    first = [s for s in archive.history()
             if not s.examined or (counted and _read_with_other_aliases(s, settings)) or s.id in wanted]
    checked, problems, examined = {}, [], []
    keep_all = len(first) <= EXAMINE_AT_ONCE
    for start in range(0, len(first), EXAMINE_AT_ONCE):
        part = first[start:start + EXAMINE_AT_ONCE]
        found, said = _check(part, settings, as_of, cache)
        examined += _record(archive, [s for s in part if not s.examined
                                      or _read_with_other_aliases(s, settings)], found, settings.aliases_key)
        problems += said
        checked.update(found if keep_all else {i: c for i, c in found.items() if i in wanted})
    standing = _decide(archive, roster)
    if counted:
        wanted |= {s.id for s in standing.counted().values()}
    later = [standing.subs[i] for i in sorted(wanted - set(checked)) if i in standing.subs]
    more, more_problems = _check(later, settings, as_of, cache)
    checked.update(more)
    for sid, c in checked.items():          # each with the verdict it has now
        c.submission = standing.subs.get(sid, c.submission)
    return Judgement(standing, checked, examined, problems + more_problems)


def _read_with_other_aliases(sub: Submission, settings: Settings) -> bool:
    """Examined with other 表头别名 than the township's now: an alias the clerk adds makes a file
    that was refused for its header count from the next consolidation."""
    return sub.examined and (sub.read_with or "") != settings.aliases_key


def decide(archive: SubmissionArchive, settings: Settings) -> Standing:
    """Every verdict again from what the archive recorded, without reading any file (right
    after a clerk's act), written back."""
    return _decide(archive, Roster(settings))


def _decide(archive: SubmissionArchive, roster: Roster) -> Standing:
    """Every verdict, with those that changed written back in one transaction."""
    rows = archive.history()
    result = standing_of(rows, roster)
    changed = []
    for old in rows:
        new = result.subs[old.id]
        if (old.village, old.outcome, old.code, old.message, old.counts) != \
                (new.village, new.outcome, new.code, new.message, new.counts):
            changed.append((new.id, new.village, new.outcome, new.code, new.message, new.counts))
    archive.set_verdicts(changed)
    return result


def _check(subs: Sequence[Submission], settings: Settings, as_of: date,
           cache: "ParseCache") -> tuple[dict[int, Checked], list[str]]:
    """Read (parse cache first) and check; a file whose checking fails is left out (and
    stays unexamined: the next run tries again) with a problem for the clerk."""
    if not subs:
        return {}, []
    ledgers = read_submissions(subs, cache, settings.header_aliases)
    items = [(s, ledgers[s.id]) for s in subs]
    try:
        tables = check_ledgers([lg for _, lg in items], as_of=as_of, settings=settings)
        return {s.id: Checked(s, lg, t) for (s, lg), t in zip(items, tables)}, []
    except Exception:       # a bug in checking: find the file, keep the others
        log.exception("checking %d files together", len(items))
    done, problems = {}, []
    for sub, _ in items:
        lg = read_submissions([sub], cache, settings.header_aliases)[sub.id]
        try:
            (table,) = check_ledgers([lg], as_of=as_of, settings=settings)
        except Exception as e:
            log.exception("checking submission %s", sub.id)
            problems.append(f"报送 #{sub.id}“{sub.filename}”校验时出错（{e}），暂不计入；下次运行时重试，"
                            "如反复出现请把该文件和日志发给技术支持。")
            continue
        done[sub.id] = Checked(sub, lg, table)
    return done, problems


def _record(archive: SubmissionArchive, subs: Sequence[Submission],
            checked: dict[int, Checked], read_with: str) -> list[int]:
    """What each newly examined file is, into the archive (once)."""
    done = []
    for sub in subs:
        c = checked.get(sub.id)
        if c is None:
            continue
        lg = c.ledger
        fatal = fatal_issue(lg)
        claimed, source = (lg.village, lg.village_source) if lg.readable else (None, None)
        if not claimed:
            claimed = village_from_filename(sub.filename)
            source = "filename" if claimed else None
        errors, warnings = lg.errors, lg.warnings
        archive.record_findings(sub.id, claimed=claimed, claimed_from=source, saved=lg.saved,
                                cases=lg.n_cases, errors=errors, warnings=warnings,
                                fatal_code=fatal.code if fatal else None,
                                fatal_message=fatal.message if fatal else None,
                                case_index=None if fatal else case_index_of(lg), read_with=read_with)
        done.append(sub.id)
    return done
