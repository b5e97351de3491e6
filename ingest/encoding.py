"""Text encodings of deliveries: GBK/GB18030 dBASE files without a .cpg, and CSV exports.

Chinese GIS software writes ``.dbf`` text in GBK and often no ``.cpg``; GDAL then
assumes ISO-8859-1 and produces mojibake. We read the ``.cpg`` when there is one,
then the dBASE language-driver byte, then try the bytes themselves.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

# dBASE language driver ids (byte 29 of the header) for Chinese code pages.
_LDID = {0x4D: "GB18030", 0x7A: "GB18030", 0x4E: "BIG5", 0x78: "BIG5"}
_CPG_ALIASES = {
    "936": "GB18030", "gbk": "GB18030", "gb2312": "GB18030", "cp936": "GB18030", "gb18030": "GB18030",
    "65001": "UTF-8", "utf8": "UTF-8", "utf-8": "UTF-8", "950": "BIG5", "big5": "BIG5",
    "1252": "CP1252", "cp1252": "CP1252", "88591": "ISO-8859-1", "8859_1": "ISO-8859-1", "iso-8859-1": "ISO-8859-1",
}
_SAMPLE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class EncodingGuess:
    """The encoding to read text with, and why it was chosen."""

    name: str
    reason: str


def normalise(name: str) -> str:
    """A Python codec name for an encoding as users and ``.cpg`` files write it.

    Raises:
        LookupError: for an encoding Python does not know.
    """
    key = name.strip().lower().replace("_", "-")
    resolved = _CPG_ALIASES.get(key) or _CPG_ALIASES.get(key.replace("-", "")) or name.strip()
    codecs.lookup(resolved)
    return resolved


def _dbf_text_sample(dbf: Path) -> tuple[int, bytes]:
    """(language driver id, header field names + the first records' bytes)."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return 0, b""
        header_len = int.from_bytes(head[8:10], "little")
        fields = fh.read(max(header_len - 32, 0))
        records = fh.read(_SAMPLE_BYTES)
    names = b"".join(fields[i: i + 11].split(b"\0", 1)[0] for i in range(0, len(fields) - 1, 32))
    return head[29], names + b"\n" + records


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _from_bytes(data: bytes, what: str) -> EncodingGuess:
    if data.isascii():
        return EncodingGuess("UTF-8", f"{what} is plain ASCII")
    if _decodes(data, "utf-8"):
        return EncodingGuess("UTF-8", f"{what} is valid UTF-8")
    # A truncated sample may end inside a multi-byte character; drop the tail before judging.
    for cut in range(0, 4):
        if _decodes(data[: len(data) - cut] if cut else data, "gb18030"):
            return EncodingGuess("GB18030", f"{what} is not UTF-8 but reads as GB18030 (GBK)")
    return EncodingGuess("CP1252", f"{what} is neither UTF-8 nor GBK; read as CP1252 — use --encoding if wrong")


def detect_dbf_encoding(shp_or_dbf: Path) -> EncodingGuess:
    """Encoding of a Shapefile's ``.dbf`` text (``.cpg`` first, then header byte, then the bytes)."""
    dbf = shp_or_dbf.with_suffix(".dbf")
    for cpg in (shp_or_dbf.with_suffix(".cpg"), shp_or_dbf.with_suffix(".CPG")):
        if cpg.is_file():
            text = cpg.read_text(encoding="ascii", errors="replace").strip()
            try:
                return EncodingGuess(normalise(text), f"{cpg.name} says {text}")
            except LookupError:
                break
    if not dbf.is_file():
        return EncodingGuess("UTF-8", "no .dbf next to the file")
    ldid, sample = _dbf_text_sample(dbf)
    if ldid in _LDID:
        return EncodingGuess(_LDID[ldid], f"no .cpg; the .dbf language driver byte 0x{ldid:02X} means {_LDID[ldid]}")
    guess = _from_bytes(sample, "no .cpg; the .dbf text")
    return guess


def detect_text_encoding(path: Path) -> EncodingGuess:
    """Encoding of a CSV or other text file (BOM, then UTF-8, then GB18030)."""
    with path.open("rb") as fh:
        data = fh.read(_SAMPLE_BYTES)
    if data.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig", "the file starts with a UTF-8 byte-order mark")
    return _from_bytes(data, "the file")
