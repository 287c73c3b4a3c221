"""OLE compound files (.xls) written by hand, for what no program on the test machine writes:

- ``write_cfb``: a compound file (version 3) holding the streams given;
- ``biff5_workbook``: an Excel 5.0/95 workbook (BIFF5) with its strings in a code page, as
  Mac Excel (10000 and up) and older PHP export libraries (936) wrote them;
- ``encrypt_cryptoapi``: a BIFF8 workbook encrypted the way Excel 2002 and later encrypt
  (RC4 CryptoAPI, 128-bit, SHA-1), here with Excel's default password "VelvetSweatshop";
- ``sector_loop``: a workbook whose Workbook stream's sector chain loops back on itself.
"""
from __future__ import annotations

import hashlib
import io
import random
import struct
from pathlib import Path

SECTOR = 512
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def write_cfb(path: Path, streams: dict[str, bytes]) -> Path:
    """The streams under the root storage, each padded to 4096 bytes at least (so none goes to
    the mini stream; a BIFF reader stops at the last EOF record, the padding is never read)."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))   # the order CFB compares names in
    padded = [streams[n] + bytes(max(0, 4096 - len(streams[n]))) for n in names]
    sizes = [len(p) for p in padded]
    n_dir = -(-(len(names) + 1) // 4)
    counts = [-(-s // SECTOR) for s in sizes]
    n_fat = 1
    while n_fat * 128 < n_fat + n_dir + sum(counts):
        n_fat += 1
    fat, starts = [_FATSECT] * n_fat, []
    for n in [n_dir, *counts]:
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(n - 1)] + [_END]
    fat += [_FREE] * (n_fat * 128 - len(fat))
    header = bytearray(SECTOR)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 44, n_fat, starts[0], 0, 4096, _END, 0, _END, 0)
    struct.pack_into("<109I", header, 76, *(list(range(n_fat)) + [_FREE] * (109 - n_fat)))
    entries = [_entry("Root Entry", 5, _NOSTREAM, 1 if names else _NOSTREAM, _END, 0)]
    for k, (name, start, size) in enumerate(zip(names, starts[1:], sizes)):
        right = k + 2 if k + 1 < len(names) else _NOSTREAM      # each the right sibling of the one before
        entries.append(_entry(name, 2, right, _NOSTREAM, start, size))
    entries += [_entry("", 0, _NOSTREAM, _NOSTREAM, 0, 0)] * (n_dir * 4 - len(entries))
    body = b"".join(p + bytes(-len(p) % SECTOR) for p in padded)
    Path(path).write_bytes(bytes(header) + struct.pack(f"<{len(fat)}I", *fat) + b"".join(entries) + body)
    return Path(path)


def _entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0" if name else b""
    e = bytearray(128)
    e[:len(raw)] = raw
    struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
    struct.pack_into("<III", e, 68, _NOSTREAM, right, child)
    struct.pack_into("<II", e, 116, start, size)
    return bytes(e)


def _rec(typ: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", typ, len(body)) + body


def biff5_workbook(path: Path, rows: list[list], *, codepage: int, encoding: str, sheet: str = "台账",
                   datemode: int = 0) -> Path:
    """An Excel 5.0/95 workbook of one sheet: LABEL records for text (bytes in ``encoding``),
    NUMBER records for numbers; the FONT/XF/STYLE records every BIFF5 writer puts first."""
    glob = _rec(0x0809, struct.pack("<HHHH", 0x0500, 0x0005, 0x0DBB, 0x07CC))
    glob += _rec(0x0042, struct.pack("<H", codepage)) + _rec(0x0022, struct.pack("<H", datemode))
    glob += _rec(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + b"\x05Arial") * 5
    glob += _rec(0x00E0, struct.pack("<HHHHHHHH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0)) * 15
    glob += _rec(0x00E0, struct.pack("<HHHHHHHH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0))
    glob += _rec(0x0293, struct.pack("<HBB", 0x8000, 0, 0xFF))
    name = sheet.encode(encoding)
    at = len(glob)
    glob = bytearray(glob + _rec(0x0085, struct.pack("<IBBB", 0, 0, 0, len(name)) + name) + _rec(0x000A))
    struct.pack_into("<I", glob, at + 4, len(glob))
    width = max((len(r) for r in rows), default=1)
    body = _rec(0x0809, struct.pack("<HHHH", 0x0500, 0x0010, 0x0DBB, 0x07CC))
    body += _rec(0x0000, struct.pack("<HHHHH", 0, len(rows), 0, width, 0))
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                body += _rec(0x0203, struct.pack("<HHHd", r, c, 15, v))
            else:
                text = str(v).encode(encoding)
                body += _rec(0x0204, struct.pack("<HHHH", r, c, 15, len(text)) + text)
    return write_cfb(path, {"Book": bytes(glob) + body + _rec(0x000A)})


# --------------------------------------------------------------------------- RC4 CryptoAPI

_NOT_ENCRYPTED = {0x0809, 0x002F, 0x0194, 0x0195, 0x00E1, 0x0138, 0x0196}   # BOF, FILEPASS, USREXCL, …
_CSP = "Microsoft Enhanced Cryptographic Provider v1.0"


def encrypt_cryptoapi(path: Path, source: Path, password: str = "VelvetSweatshop", seed: int = 19) -> Path:
    """``source`` (a BIFF8 .xls) encrypted as Excel 2002+ does: a FILEPASS record (RC4 CryptoAPI,
    128-bit key, SHA-1) after the first BOF, every later record body encrypted with a key stream
    that starts at the stream's start and is re-keyed every 1024 bytes (BoundSheet offsets stay
    plain), the sheets' offsets moved by the FILEPASS record's size."""
    import olefile
    from msoffcrypto.method.rc4_cryptoapi import DocumentRC4CryptoAPI, _makekey
    from cryptography.hazmat.primitives.ciphers import Cipher
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    except ImportError:      # cryptography < 43
        from cryptography.hazmat.primitives.ciphers.algorithms import ARC4
    with olefile.OleFileIO(str(source)) as ole:
        plain = ole.openstream("Workbook").read()
        others = {"\x05SummaryInformation": ole.openstream("\x05SummaryInformation").read()} \
            if ole.exists("\x05SummaryInformation") else {}
    rng = random.Random(seed)
    salt, verifier = rng.randbytes(16), rng.randbytes(16)
    key = _makekey(password, salt, 128, 0)
    enc = Cipher(ARC4(key), mode=None).encryptor()
    sealed = enc.update(verifier) + enc.update(hashlib.sha1(verifier).digest())
    csp = (_CSP + "\0").encode("utf-16-le")
    header = struct.pack("<IIIIIIII", 0x04, 0, 0x6801, 0x8004, 128, 1, 0, 0) + csp
    filepass = (struct.pack("<HHHI", 1, 4, 2, 0x04) + struct.pack("<I", len(header)) + header
                + struct.pack("<I", 16) + salt + sealed[:16] + struct.pack("<I", 20) + sealed[16:])
    records = list(_records(plain))
    first_bof = records[0]
    inserted = _rec(0x002F, filepass)
    delta = len(inserted)
    out = bytearray(plain[:first_bof[2]]) + inserted
    for typ, start, end in records[1:]:
        rec = bytearray(plain[start:end])
        if typ == 0x0085:
            struct.pack_into("<I", rec, 4, struct.unpack_from("<I", rec, 4)[0] + delta)
        out += rec
    stream = DocumentRC4CryptoAPI.decrypt(password, salt, 128, io.BytesIO(bytes(len(out))), blocksize=1024).read()
    pos = first_bof[2] + delta
    for typ, start, end in records[1:]:
        size = end - start - 4
        body = pos + 4
        if typ not in _NOT_ENCRYPTED:
            skip = 4 if typ == 0x0085 else 0
            for i in range(body + skip, body + size):
                out[i] ^= stream[i]
        pos = body + size
    return write_cfb(path, {"Workbook": bytes(out), **others})


def _records(data: bytes):
    pos = 0
    while pos + 4 <= len(data):
        typ, size = struct.unpack_from("<HH", data, pos)
        if typ == 0 and size == 0 and not any(data[pos:pos + 64]):
            return                                   # the stream's zero padding
        yield typ, pos, pos + 4 + size
        pos += 4 + size


def sector_loop(path: Path, source: Path) -> Path:
    """A copy of a compound file made by ``write_cfb`` whose first stream's chain points back to
    its own start after three sectors, and whose size claims 50 MB (what a reader would follow)."""
    data = bytearray(Path(source).read_bytes())
    n_fat = struct.unpack_from("<I", data, 44)[0]
    dir_start = struct.unpack_from("<I", data, 48)[0]
    entry = SECTOR * (dir_start + 1) + 128                # the first stream's directory entry
    start = struct.unpack_from("<I", data, entry + 116)[0]
    struct.pack_into("<I", data, SECTOR + 4 * (start + 2), start)
    struct.pack_into("<I", data, entry + 120, 50 * 2**20)
    assert n_fat >= 1
    Path(path).write_bytes(bytes(data))
    return Path(path)
