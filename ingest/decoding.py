"""Where a delivery's text fails to decode: the file, the row, the field, and the likely fix.

Python's ``UnicodeDecodeError`` names only a byte offset into a buffer (``'utf-8' codec can't
decode byte 0xba in position 0``), which tells GIS staff nothing. When a reader hits one, it
asks this module to find the first row and field whose bytes do not decode in the encoding in
use, by reading the file itself: a ``.dbf``'s fixed-width records, or a CSV's rows. The answer
says what those bytes read as in the encodings Chinese deliveries come in, and so which
``--encoding`` to pass.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.encoding import EncodingGuess
from ingest.errors import UnreadableSource

# What a cell that is not in the declared encoding most likely is, in the order we try them.
CANDIDATES = ("UTF-8", "GB18030", "BIG5")
_DBF_HEADER = 32
_DBF_FIELD = 32


@dataclass(frozen=True, slots=True)
class DecodeProblem:
    """The first text in a file that does not decode in ``encoding``.

    Attributes:
        file: The file name (the ``.dbf`` for a Shapefile).
        row: 1-based data row, numbered as the report numbers rows; None for the header.
        field: The field (column) name, as well as it can be read.
        encoding: The encoding the text was read with.
        reason: Why that encoding was used (``--encoding``, the ``.cpg``, detection).
        raw: The undecodable bytes (the whole cell or field name).
        reads_as: (encoding, text) the bytes do decode as, if any candidate fits.
    """

    file: str
    row: int | None
    field: str
    encoding: str
    reason: str
    raw: bytes
    reads_as: tuple[str, str] | None

    @property
    def where(self) -> str:
        """``管线点.dbf, row 3, field NAME`` (or the header's field name)."""
        row = "the header (field names)" if self.row is None else f"row {self.row}"
        return f"{self.file}, {row}, field {self.field}"

    @property
    def fix(self) -> str:
        """What to do about it, in one sentence."""
        if self.reads_as is None:
            return "run again with --encoding and the file's real code page (GB18030, BIG5, CP1252 …)"
        fix = f"run again with --encoding {self.reads_as[0]}"
        if self.reason == "--encoding":
            return f"{fix} instead of --encoding {self.encoding}"
        if ".cpg says" in self.reason:
            cpg = self.reason.split(" says", 1)[0]
            return f"{fix}, or correct {cpg} (or delete it: the encoding is then detected from the bytes)"
        return fix

    def message(self) -> str:
        """The whole story for the report and the terminal."""
        shown = " ".join(f"{b:02x}" for b in self.raw[:12]) + (" …" if len(self.raw) > 12 else "")
        why = f"--encoding {self.encoding} was given" if self.reason == "--encoding" else self.reason
        text = f"{self.where}: the bytes {shown} are not valid {self.encoding} (read as {self.encoding} because {why})"
        if self.reads_as is not None:
            text += f"; they read as {self.reads_as[0]}: {self.reads_as[1]!r}"
        return f"{text}. Fix: {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        """The problem as report.json's ``problem`` holds it."""
        return {
            "kind": "encoding", "file": self.file, "row": self.row, "field": self.field,
            "encoding": self.encoding, "reason": self.reason, "bytes": self.raw[:64].hex(" "),
            "reads_as": {"encoding": self.reads_as[0], "text": self.reads_as[1]} if self.reads_as else None,
            "fix": self.fix,
        }


class UndecodableText(UnreadableSource):
    """Text in a delivery file is not in the encoding it was read with; ``problem`` says where."""

    type_slug = "undecodable-text"
    title = "Text in the delivery is not in the expected encoding"

    def __init__(self, problem: DecodeProblem) -> None:
        super().__init__(problem.message())
        self.problem = problem


def reads_as(raw: bytes, tried: str) -> tuple[str, str] | None:
    """The first candidate encoding (other than ``tried``) that decodes ``raw``, with the text."""
    for name in CANDIDATES:
        if name.lower().replace("-", "") == tried.lower().replace("-", "").removesuffix("sig"):
            continue
        try:
            return name, raw.decode(name)
        except UnicodeDecodeError:
            continue
    return None


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _problem(file: str, row: int | None, field: str, raw: bytes, guess: EncodingGuess) -> DecodeProblem:
    return DecodeProblem(file, row, field, guess.name, guess.reason, raw, reads_as(raw, guess.name))


# ---- dBASE (.dbf of a Shapefile) -------------------------------------------------------------------
def _dbf_fields(head: bytes) -> list[tuple[bytes, int]]:
    """(raw name, width) of each field descriptor, up to the 0x0D terminator."""
    out = []
    for i in range(_DBF_HEADER, len(head) - _DBF_FIELD + 1, _DBF_FIELD):
        desc = head[i: i + _DBF_FIELD]
        if desc[0] == 0x0D:
            break
        out.append((desc[:11].split(b"\0", 1)[0], desc[16]))
    return out


def _records(fh: Any, count: int, width: int) -> Iterator[tuple[int, bytes]]:
    """(row number as readers count it, record bytes) for every record not marked deleted."""
    row = 0
    for _ in range(count):
        record = fh.read(width)
        if len(record) < width:
            return
        if record[:1] == b"*":  # deleted: GDAL skips it, so it has no row number
            continue
        row += 1
        yield row, record


def diagnose_dbf(dbf: Path, guess: EncodingGuess) -> DecodeProblem | None:
    """The first field name or text value of ``dbf`` that does not decode with ``guess``, if any."""
    with dbf.open("rb") as fh:
        top = fh.read(_DBF_HEADER)
        if len(top) < _DBF_HEADER:
            return None
        count = int.from_bytes(top[4:8], "little")
        header_len, width = int.from_bytes(top[8:10], "little"), int.from_bytes(top[10:12], "little")
        fields = _dbf_fields(top + fh.read(max(header_len - _DBF_HEADER, 0)))
        for i, (name, _) in enumerate(fields, start=1):
            if not _decodes(name, guess.name):
                label = f"#{i}" + (f" ({reads[1]} in {reads[0]})" if (reads := reads_as(name, guess.name)) else "")
                return _problem(dbf.name, None, label, name, guess)
        names = [n.decode(guess.name) for n, _ in fields]
        for row, record in _records(fh, count, width):
            if _decodes(record, guess.name):
                continue
            offset = 1
            for field_name, (_, size) in zip(names, fields, strict=True):
                cell = record[offset: offset + size].rstrip(b" \0")
                offset += size
                if not _decodes(cell, guess.name):
                    return _problem(dbf.name, row, field_name, cell, guess)
    return None


# ---- delimited text (CSV) ----------------------------------------------------------------------------
def _bad(cell: str) -> bool:
    """Whether a cell read with ``surrogateescape`` holds bytes that did not decode."""
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def diagnose_csv(path: Path, guess: EncodingGuess, dialect: type[csv.Dialect]) -> DecodeProblem | None:
    """The first header name or cell of ``path`` that does not decode with ``guess``, if any.

    Rows are numbered as :class:`ingest.readers.tables.CsvReader` numbers them: data rows from 1,
    blank rows skipped.
    """
    with path.open(encoding=guess.name, errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, dialect=dialect)
        header = next(reader, [])
        for i, name in enumerate(header, start=1):
            if _bad(name):
                raw = name.strip().encode(guess.name, "surrogateescape")
                label = f"#{i}" + (f" ({reads[1]} in {reads[0]})" if (reads := reads_as(raw, guess.name)) else "")
                return _problem(path.name, None, label, raw, guess)
        names = [h.strip() for h in header]
        row = 0
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            row += 1
            for i, value in enumerate(values):
                if _bad(value):
                    field = names[i] if i < len(names) else f"#{i + 1}"
                    return _problem(path.name, row, field, value.strip().encode(guess.name, "surrogateescape"), guess)
    return None


def undecodable(problem: DecodeProblem | None, file: str, guess: EncodingGuess | None,
                exc: UnicodeDecodeError) -> UnreadableSource:
    """The error to raise for ``exc``: with the row and field when they were found, else the file."""
    if problem is not None:
        return UndecodableText(problem)
    encoding = guess.name if guess else exc.encoding
    return UnreadableSource(
        f"{file}: text is not valid {encoding} ({exc.reason} at byte 0x{exc.object[exc.start]:02x}); "
        "run again with --encoding and the file's code page (GB18030 for most Chinese GIS exports)"
    )
