"""A one-line progress display on stderr, shown only on a terminal so that
logs and pipes get nothing but the report."""

from __future__ import annotations

import sys


def progress(text: str) -> None:
    """Overwrite the status line with `text` ("" clears it)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()
