"""The save queue: messages a selective receive skipped, kept in a memfd.

Entries keep arrival order. The memfd is created when the first message is
skipped (an idle actor spends no fd on it). An index by message shape
(``_patterns.message_key``) lets a receive decode only the saved messages its
patterns could match. Taking an entry leaves a hole in the file; once the
holes outweigh the live bytes the live entries are copied to the front and
the file truncated, so under steady traffic its size stays within a small
multiple of what it holds.
"""

from __future__ import annotations

import bisect
import heapq
import os
from collections.abc import Iterable, Iterator
from typing import Any, Final, NamedTuple

from ._patterns import WILD, Key

__all__ = ["Entry", "SaveQueue"]

# Below this many dead bytes compaction is not worth a syscall.
_COMPACT_MIN: Final = 64 * 1024


class Entry(NamedTuple):
    offset: int
    length: int
    key: Key
    timer: int  # timer id of a timer's message, else 0


class SaveQueue:
    """Arrival-ordered frames in an anonymous memfd, with an in-memory index.

    Entries are named by their arrival number (``seq``), which only grows.
    """

    __slots__ = ("_end", "_fd", "_index", "_live", "_order", "_written", "entries", "tail")

    def __init__(self) -> None:
        self._fd = -1
        self.entries: dict[int, Entry] = {}  # seq -> entry, in arrival order
        self._order: list[int] = []  # the same seqs, for bisecting by marker
        self._index: dict[Any, dict[Any, list[int]]] = {}  # shape -> head -> seqs
        self.tail: list[bytes] = []  # appended frames not yet written
        self._end = 0  # offset after the last appended frame
        self._written = 0  # offset up to which the file holds the frames
        self._live = 0  # bytes of the entries still queued

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def file_size(self) -> int:
        """Bytes the memfd occupies now (0 before it exists)."""
        return self._written

    @property
    def live_bytes(self) -> int:
        return self._live

    def append(self, seq: int, frame: bytes, key: Key, timer: int = 0) -> None:
        self.tail.append(frame)
        self.entries[seq] = Entry(self._end, len(frame), key, timer)
        self._order.append(seq)
        self._index.setdefault(key[0], {}).setdefault(key[1], []).append(seq)
        self._end += len(frame)
        self._live += len(frame)

    def flush(self) -> None:
        """Write the appended frames to the memfd in one call."""
        if not self.tail:
            return
        if self._fd < 0:
            self._fd = os.memfd_create("ta-savequeue", os.MFD_CLOEXEC)
        data = self.tail[0] if len(self.tail) == 1 else b"".join(self.tail)
        self._pwrite_all(data, self._written)
        self.tail.clear()
        self._written += len(data)

    def _pwrite_all(self, data: bytes, offset: int) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, offset)
            view = view[n:]
            offset += n

    def candidates(self, keys: list[Key] | None, since: int = 0) -> Iterable[int]:
        """Seqs, oldest first, of the entries that may match (all if ``keys`` is
        ``None``), from arrival number ``since`` on. Flushes first; the caller
        stops iterating once it takes an entry."""
        self.flush()
        if keys is None:
            if since <= 0:
                return list(self._order)
            return self._order[bisect.bisect_left(self._order, since) :]
        lists: list[list[int]] = []
        seen: set[int] = set()
        for shape, head in keys:
            heads = self._index.get(shape)
            if not heads:
                continue
            chosen = heads.values() if head is WILD else [heads.get(head, [])]
            for seqs in chosen:
                if seqs and id(seqs) not in seen:
                    seen.add(id(seqs))
                    lists.append(
                        seqs[bisect.bisect_left(seqs, since) :] if since > 0 else list(seqs)
                    )
        if not lists:
            return ()
        if len(lists) == 1:
            return lists[0]
        return heapq.merge(*lists)

    def read(self, seq: int) -> bytes:
        entry = self.entries[seq]
        return os.pread(self._fd, entry.length, entry.offset)

    def frames(self) -> Iterator[bytes]:
        """Every saved frame, oldest first."""
        for seq in list(self.entries):
            yield self.read(seq)

    def take(self, seq: int) -> None:
        """Remove entry ``seq`` (its frame was consumed)."""
        entry = self.entries.pop(seq)
        del self._order[bisect.bisect_left(self._order, seq)]
        heads = self._index[entry.key[0]]
        seqs = heads[entry.key[1]]
        del seqs[bisect.bisect_left(seqs, seq)]
        if not seqs:
            del heads[entry.key[1]]
            if not heads:
                del self._index[entry.key[0]]
        self._live -= entry.length
        self._maybe_compact()

    def remove_timer(self, timer: int) -> int:
        """Drop the message of timer ``timer``: its size, 0 if it was not here."""
        for seq, entry in self.entries.items():
            if entry.timer == timer:
                self.take(seq)
                return entry.length
        return 0

    def _maybe_compact(self) -> None:
        if not self.entries:
            self.tail.clear()
            if self._written:
                os.ftruncate(self._fd, 0)
            self._end = self._written = self._live = 0
            return
        self.flush()
        dead = self._written - self._live
        if dead < _COMPACT_MIN or dead < self._live:
            return
        data = os.pread(self._fd, self._written, 0)
        parts = []
        offset = 0
        for seq, entry in self.entries.items():
            parts.append(data[entry.offset : entry.offset + entry.length])
            self.entries[seq] = entry._replace(offset=offset)
            offset += entry.length
        live = b"".join(parts)
        self._pwrite_all(live, 0)
        os.ftruncate(self._fd, len(live))
        self._end = self._written = self._live = len(live)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.entries.clear()
        self._order.clear()
        self._index.clear()
        self.tail.clear()
        self._end = self._written = self._live = 0
