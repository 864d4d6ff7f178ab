"""Masking and redaction: phone numbers, emails, tokens and keys never reach a log.

Two layers, because either alone leaks:

* the delivery code masks what it writes on purpose (``mask_phone`` in the
  delivery log, ``mask_address`` for any recipient address);
* :class:`RedactingFilter` scrubs whatever else slips into a log record - an
  exception text that echoes a URL or a request body, a debug line - using the
  exact secrets from the config plus patterns for phone numbers and emails.

>>> mask_phone("+8613812345678")
'+86 138****5678'
>>> mask_phone("+1 415 555 0123")
'+1 415****0123'
>>> mask_email("wang.li@example.com")
'w***@example.com'
>>> redact("call +8613812345678 or mail wang@example.cn, token abc123", ["abc123"])
'call +86 138****5678 or mail w***@example.cn, token ***'
"""

from __future__ import annotations

import logging
import re
from typing import Iterable

__all__ = ["mask_phone", "mask_email", "mask_secret", "mask_address", "redact", "RedactingFilter", "install_redaction"]

# Country codes we print separately: the ones the demo floor and the usual
# duty rosters use. Other numbers keep a 1-3 digit guess, which only affects
# where the space goes, never how much is hidden.
_CC = ("86", "852", "853", "886", "1", "44", "65", "81", "82", "61", "49", "33")


def mask_phone(phone: str) -> str:
    """``+86 138****5678``: country code, first 3 and last 4 digits of the rest."""
    digits = re.sub(r"\D", "", phone)
    cc = ""
    if phone.strip().startswith("+"):
        cc = next((c for c in sorted(_CC, key=len, reverse=True) if digits.startswith(c)), digits[:2])
        digits = digits[len(cc) :]
    if len(digits) < 8:
        # Too short to show any of it without showing most of it.
        body = "*" * max(len(digits), 4)
    else:
        body = digits[:3] + "****" + digits[-4:]
    return f"+{cc} {body}" if cc else body


def mask_email(email: str) -> str:
    """``w***@example.com``: the first letter of the local part and the domain."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_secret(secret: str) -> str:
    """Tokens and keys are never shown, not even in part."""
    return "***"


def mask_address(kind: str | None, value: str | None) -> str:
    """Mask a recipient address of the given kind (``phone``, ``email``, ``pager_key``)."""
    if not value:
        return ""
    if kind == "phone":
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    return mask_secret(value)


# A phone number as it might appear in free text: E.164 (with optional
# spaces/dashes), or a mainland mobile number (1[3-9] + 9 digits), bare or
# after 86 / 0086 without the '+'. Only digits (not letters) may not touch
# it: "A+8613812345678" is still a number.
_PHONE_RE = re.compile(
    r"(?<![\d+])\+[1-9](?:[ \-]?\d){6,14}(?!\d)"
    r"|(?<![\d+])(?:(?:00)?86[ \-]?)?1[3-9]\d(?:[ \-]?\d){8}(?!\d)"
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secrets with ``***`` and mask phone numbers and emails in ``text``."""
    # Longest first, so a token that contains another is removed whole.
    for s in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        if s in text:
            text = text.replace(s, _placeholder(s))
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    text = _PHONE_RE.sub(_mask_phone_match, text)
    return text


def _mask_phone_match(m: re.Match) -> str:
    s = m.group(0)
    if not s.startswith("+"):
        digits = re.sub(r"\D", "", s)
        if digits.startswith("0086"):
            return mask_phone("+" + digits[2:])
        if digits.startswith("86") and len(digits) == 13:
            return mask_phone("+" + digits)
    return mask_phone(s)


def _placeholder(secret: str) -> str:
    # A configured phone or email gets its usual mask (still useful to read);
    # anything else is a credential.
    if _EMAIL_RE.fullmatch(secret):
        return mask_email(secret)
    if re.fullmatch(r"\+?[\d \-]{7,20}", secret):
        return mask_phone(secret)
    return "***"


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's message (and exception text).

    The record is rendered once (``getMessage()``), redacted, and its ``args``
    dropped, so handlers downstream only ever see the redacted text.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = list(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self.secrets.extend(s for s in secrets if s and s not in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            msg = str(record.msg)
        record.msg = redact(msg, self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print exc_text when set; set it to the redacted traceback.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


# The one logger every delivery module writes to. A logger's filters apply
# only to records created on that very logger (not to its children's), so the
# modules share this logger instead of one per module.
log = logging.getLogger("stream.delivery")
_filter = RedactingFilter()
log.addFilter(_filter)


def install_redaction(secrets: Iterable[str], *, root_handlers: bool = False) -> RedactingFilter:
    """Teach the delivery logger's filter the config's secrets.

    With ``root_handlers``, also put the filter on the root logger's handlers
    so records from libraries (aiohttp, smtplib, redis) are redacted too - the
    ``floorwatch deliver`` command does this.
    """
    _filter.add_secrets(secrets)
    if root_handlers:
        for h in logging.getLogger().handlers:
            if _filter not in h.filters:
                h.addFilter(_filter)
    return _filter
