"""The structure of an OLE compound file (.xls, .et, an encrypted OOXML), checked before any
parser follows it: every sector chain must end, stay inside the file and visit no sector twice.

Parsers trust these chains. olefile and python-calamine both read a stream by following its
chain for as many bytes as its directory entry claims, so a chain that loops back on itself
(a few sectors, a 100 MB claim) is read round and round: a small file then costs a parser as
much time and memory as its claim, and a loop in the chain of the DIFAT (the list of FAT
sectors) is followed by calamine without end. Here every chain is walked once with a set of
the sectors seen (at most the file's sector count), so the check is bounded by the file size.
"""
from __future__ import annotations

import struct
from pathlib import Path

from toolkit.core.issues import Code
from toolkit.intake.limits import Refused

_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END, _FREE = 0xFFFFFFFE, 0xFFFFFFFF
_SPECIAL = 0xFFFFFFFA            # MAXREGSECT: anything above is a marker, not a sector
_STREAM, _ROOT = 2, 5


def check_cfb(path: Path) -> None:
    """Refuse (``Refused``, unreadable) a compound file whose sector chains loop, run outside
    the file, or are shorter than the streams they carry."""
    with open(path, "rb") as f:
        data = f.read()
    _Cfb(data).check()


class _Cfb:
    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(_MAGIC):
            raise _damaged()
        shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if shift not in (9, 12) or mini_shift != 6:
            raise _damaged()
        self.data, self.size = data, 1 << shift
        self.sectors = max(0, (len(data) - self.size + self.size - 1) // self.size)
        (self.n_fat, self.dir_start, _, self.cutoff, self.minifat_start, self.n_minifat,
         self.difat_start, self.n_difat) = struct.unpack_from("<IIIIIIII", data, 44)

    def check(self) -> None:
        fat = self._fat()
        directory = self._read(self._chain(self.dir_start, fat))
        entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
        if not entries or entries[0][66] != _ROOT:
            raise _damaged()
        root_start, root_size = struct.unpack_from("<IQ", entries[0], 116)
        mini_container = self._chain(root_start, fat, root_size) if root_size else []
        minifat = self._ints(self._read(self._chain(self.minifat_start, fat))) if self.n_minifat else []
        mini_sectors = len(mini_container) * self.size // 64
        for entry in entries[1:]:
            if entry[66] != _STREAM:
                continue
            start, size = struct.unpack_from("<IQ", entry, 116)
            size &= 0xFFFFFFFF if self.size == 512 else size      # version 3: the high half is unused
            if size > len(self.data):
                raise _damaged()                 # a stream cannot hold more than the file
            if size >= self.cutoff:
                self._chain(start, fat, size)
            elif size:
                _walk(start, minifat, mini_sectors, size, 64)

    def _fat(self) -> list[int]:
        """The FAT, from the sectors the DIFAT (109 in the header, then its own chain) names."""
        difat = [s for s in struct.unpack_from("<109I", self.data, 76) if s <= _SPECIAL]
        seen, sector = set(), self.difat_start
        per = self.size // 4 - 1
        while sector <= _SPECIAL:
            if sector in seen or sector >= self.sectors or len(seen) > self.n_difat:
                raise _damaged()
            seen.add(sector)
            values = self._ints(self._sector(sector))
            difat += [s for s in values[:per] if s <= _SPECIAL]
            sector = values[per]
        if len(difat) > self.sectors or len(set(difat)) != len(difat) or any(s >= self.sectors for s in difat):
            raise _damaged()
        return self._ints(b"".join(self._sector(s) for s in difat))

    def _chain(self, start: int, fat: list[int], size: int | None = None) -> list[int]:
        return _walk(start, fat, min(self.sectors, len(fat)), size, self.size)

    def _sector(self, n: int) -> bytes:
        at = (n + 1) * self.size
        return self.data[at:at + self.size]

    def _read(self, chain: list[int]) -> bytes:
        return b"".join(self._sector(s) for s in chain)

    @staticmethod
    def _ints(blob: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(blob) // 4}I", blob[:len(blob) // 4 * 4]))


def _walk(start: int, table: list[int], limit: int, size: int | None, unit: int) -> list[int]:
    """The sectors of one chain; refused if it loops, leaves the table, or ends before ``size``."""
    chain, seen, sector = [], set(), start
    while sector != _END:
        if sector > _SPECIAL or sector >= limit or sector in seen:
            raise _damaged()
        seen.add(sector)
        chain.append(sector)
        if size is not None and len(chain) * unit >= size:
            return chain
        sector = table[sector]
    if size is not None and len(chain) * unit < size:
        raise _damaged()
    return chain


def _damaged() -> Refused:
    return Refused(Code.UNREADABLE, "旧版 .xls 文件（Office 复合文档）的内部结构损坏（数据块链接错乱），"
                                    "可能下载或传输中断；请用 Excel 或 WPS 打开后另存为 .xlsx")
