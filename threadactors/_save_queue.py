"""The save queue: messages a selective receive skipped, kept in a memfd.

Entries keep arrival order. The memfd is created when the first message is
skipped (an idle actor spends no fd on it). Taking an entry leaves a hole;
once the holes outweigh the live bytes the live entries are copied to the
front and the file truncated, so under steady traffic the file's size stays
within a small multiple of what it holds.
"""

from __future__ import annotations

import bisect
import os
from typing import Final, Iterator, NamedTuple

__all__ = ["Entry", "SaveQueue"]

# Below this many dead bytes compaction is not worth a syscall.
_COMPACT_MIN: Final = 64 * 1024


class Entry(NamedTuple):
    seq: int  # arrival number in the mailbox: what receive markers compare
    offset: int
    length: int
    timer: int  # timer id of a timer's message, else 0


class SaveQueue:
    """Arrival-ordered frames in an anonymous memfd, with an in-memory index."""

    __slots__ = ("_end", "_entries", "_fd", "_live", "_tail", "_written")

    def __init__(self) -> None:
        self._fd = -1
        self._entries: list[Entry] = []
        self._tail: list[bytes] = []  # appended frames not yet written
        self._end = 0  # offset after the last appended frame
        self._written = 0  # offset up to which the file holds the frames
        self._live = 0  # bytes of the entries still queued

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def file_size(self) -> int:
        """Bytes the memfd occupies now (0 before it exists)."""
        return self._written

    @property
    def live_bytes(self) -> int:
        return self._live

    def append(self, seq: int, frame: bytes, timer: int = 0) -> None:
        self._tail.append(frame)
        self._entries.append(Entry(seq, self._end, len(frame), timer))
        self._end += len(frame)
        self._live += len(frame)

    def flush(self) -> None:
        """Write the appended frames to the memfd in one call."""
        if not self._tail:
            return
        if self._fd < 0:
            self._fd = os.memfd_create("ta-savequeue", os.MFD_CLOEXEC)
        data = self._tail[0] if len(self._tail) == 1 else b"".join(self._tail)
        view = memoryview(data)
        offset = self._written
        while view:
            n = os.pwrite(self._fd, view, offset)
            view = view[n:]
            offset += n
        self._tail.clear()
        self._written = offset

    def start(self, since: int) -> int:
        """Index of the first entry that arrived at or after ``since``."""
        if since <= 0:
            return 0
        return bisect.bisect_left(self._entries, since, key=lambda e: e.seq)

    def scan(self, since: int = 0) -> Iterator[tuple[int, bytes]]:
        """Yield ``(index, frame)`` oldest first; flush before scanning.

        The caller stops at the entry it takes (``take(index)``) and does not
        resume the iterator afterwards.
        """
        self.flush()
        entries = self._entries
        for index in range(self.start(since), len(entries)):
            entry = entries[index]
            yield index, os.pread(self._fd, entry.length, entry.offset)

    def take(self, index: int) -> None:
        """Remove the entry at ``index`` (its frame was consumed)."""
        entry = self._entries.pop(index)
        self._live -= entry.length
        self._maybe_compact()

    def remove_timer(self, timer: int) -> bool:
        """Drop the message of timer ``timer`` if it is here."""
        for index, entry in enumerate(self._entries):
            if entry.timer == timer:
                self.take(index)
                return True
        return False

    def _maybe_compact(self) -> None:
        if self._tail:
            self.flush()
        if not self._entries:
            if self._written:
                os.ftruncate(self._fd, 0)
            self._end = self._written = self._live = 0
            return
        dead = self._written - self._live
        if dead < _COMPACT_MIN or dead < self._live:
            return
        data = os.pread(self._fd, self._written, 0)
        parts = []
        entries = []
        offset = 0
        for entry in self._entries:
            parts.append(data[entry.offset : entry.offset + entry.length])
            entries.append(entry._replace(offset=offset))
            offset += entry.length
        live = b"".join(parts)
        view = memoryview(live)
        pos = 0
        while pos < len(live):
            pos += os.pwrite(self._fd, view[pos:], pos)
        os.ftruncate(self._fd, len(live))
        self._entries = entries
        self._end = self._written = self._live = len(live)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._entries.clear()
        self._tail.clear()
        self._end = self._written = self._live = 0
