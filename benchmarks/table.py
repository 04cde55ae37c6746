"""Plain-text tables for the benchmark commands."""

from __future__ import annotations

from collections.abc import Sequence


def render(lines: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; a rule under the first line."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
