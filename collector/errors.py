"""Error text the collector shows: one safe line per error, and advice for the write errors a disk causes."""
from __future__ import annotations

# What to check for the write errors SQLite reports when the disk or the file system is the problem.
WRITE_HINTS = (("disk is full", "free some disk space"),
               ("readonly", "the database file or its folder is read-only"),
               ("unable to open database file", "check that the database folder exists, is writable and has space"),
               ("disk I/O error", "check whether the disk is full, read-only or failing: df, dmesg"))


def write_hint(reason: str) -> str:
    """Advice for a write error, e.g. ' (free some disk space)'; empty when there is none."""
    advice = next((text for needle, text in WRITE_HINTS if needle in reason), None)
    return f" ({advice})" if advice else ""


def error_text(exc: BaseException) -> str:
    """A one-line reason for an error, safe to show on /healthz: the driver's own message, never SQL or rows."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error; its str() adds the SQL and values
    cause = orig if isinstance(orig, BaseException) else exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:300].rstrip(": ")
