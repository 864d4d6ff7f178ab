"""What a source yields besides events: input that became no event, and a source's own errors.

Apart from ``formats`` (the readers' registry), so that the readers it
dispatches to (``asterisk``) use them without importing the registry back.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

__all__ = ["Dead", "SourceError"]


class Dead(NamedTuple):
    """Input that became no event: the raw bytes (caller IDs masked) and why.

    ``reason`` None means the bytes are meant for the wire decoder, which names
    the reason itself (a broken JSON line).
    """

    raw: bytes
    reason: Optional[str]


class SourceError(ValueError):
    """A source cannot be read as configured; the message is one line for the operator."""
