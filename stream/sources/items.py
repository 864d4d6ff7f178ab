"""What a source yields besides events: dead letters (``Dead``), and its one-line error (``SourceError``).

Kept apart from the format registry (``stream.sources.formats``) so that the
readers the registry lists can use them without importing the registry.
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
