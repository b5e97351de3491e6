"""Feed cursors: a position in commit order, ``<seq>.<change id>.<feature id>``.

``seq`` numbers committing transactions in commit order (migration 0012_feed), the change id
orders the rows one transaction wrote, and the feature id orders the features one bulk merge row
stands for. A cursor names the last mutation a consumer has; the next page starts after it. New
commits always get a larger ``seq``, so a page once read never changes and nothing is inserted
before a cursor: paging is resumable and stable while writes continue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feed.errors import InvalidCursor

_RE = re.compile(r"^(\d{1,18})\.(\d{1,18})\.(\d{1,18})$")


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A position in the feed; mutations strictly after it follow."""

    seq: int
    change_id: int
    fid: int

    def __str__(self) -> str:
        return f"{self.seq}.{self.change_id}.{self.fid}"

    @classmethod
    def after_commit(cls, seq: int) -> Cursor:
        """The position after every mutation of commit ``seq`` (change ids start at 1)."""
        return cls(seq + 1, 0, 0)


START = Cursor(0, 0, 0)  # before the first mutation (history older than the feed is commit 0)


def parse_cursor(text: str) -> Cursor:
    """A cursor from its text form; ``0`` is the start of the feed.

    Raises:
        InvalidCursor: anything else that is not ``<seq>.<change id>.<feature id>``.
    """
    if text == "0":
        return START
    match = _RE.match(text)
    if match is None:
        raise InvalidCursor(f"{text[:40]!r} is not a feed cursor (use 0, now, or a cursor from a feed response)")
    return Cursor(int(match[1]), int(match[2]), int(match[3]))
