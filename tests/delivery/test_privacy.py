"""Phone numbers, emails, tokens and keys never reach the logs, the delivery log or Redis keys."""

from __future__ import annotations

import logging

import pytest

from stream.delivery.privacy import RedactingFilter, log, mask_email, mask_phone, redact
from tests.delivery_fixtures import *  # noqa: F403 - fixtures
from tests.delivery_fixtures import (
    DUTY_PHONE,
    FLOOR_EMAIL,
    FLOOR_PHONE,
    PAGER_KEY,
    SECRETS,
    SID,
    TOKEN,
    base_config,
    make_service,
    route,
)
from tests.delivery_support import change, delivery_log


@pytest.mark.parametrize(
    "phone, masked",
    [
        ("+8613812345678", "+86 138****5678"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("+85291234567", "+852 912****4567"),
        ("+14155550123", "+1 415****0123"),
        ("13812345678", "138****5678"),
        ("+8612345", "+86 *****"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_email_and_redact() -> None:
    assert mask_email("floor.mgr@example.cn") == "f***@example.cn"
    text = f"to {FLOOR_PHONE} / 13987654321 / {FLOOR_EMAIL} with {TOKEN} and key {PAGER_KEY}"
    out = redact(text, [TOKEN, PAGER_KEY])
    assert out == "to +86 138****5678 / 139****4321 / f***@example.cn with *** and key ***"


def test_filter_redacts_args_and_exception_text() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("test.delivery.privacy")
    logger.propagate = False
    handler = Keep()
    handler.addFilter(RedactingFilter([TOKEN]))
    logger.addHandler(handler)
    try:
        logger.warning("sending to %s with %s", FLOOR_PHONE, TOKEN)
        try:
            raise RuntimeError(f"gateway said: bad token {TOKEN} for {FLOOR_EMAIL}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    formatted = "\n".join(logging.Formatter().format(r) for r in records)
    assert "+86 138****5678" in formatted and "gateway said" in formatted
    for secret in (FLOOR_PHONE, TOKEN, FLOOR_EMAIL):
        assert secret not in formatted


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.integration
async def test_no_secret_in_logs_delivery_log_or_redis(r, http, session, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    # A gateway that echoes the request back in its error (as real ones do).
    http.fail_next(1, 400)
    http.error_body = f"Invalid 'To' {DUTY_PHONE} for account {SID} (token {TOKEN}) key {PAGER_KEY}"
    cfg = base_config(http.url, routes=route([("floor", "sms"), ("floor", "mail"), ("duty", "sms")], [("duty", "pager")]))
    svc = make_service(r, session, cfg)
    await svc.handle_change(change("raised"))
    # The delivery code logging an address by mistake is caught by the filter.
    log.info("debug: floor manager is %s, %s, pager %s", FLOOR_PHONE, FLOOR_EMAIL, PAGER_KEY)

    # aiohttp.access is the fake gateway's own access log (the provider's side), not ours.
    ours = [rec for rec in caplog.records if rec.name != "aiohttp.access"]
    text = "\n".join(caplog.handler.format(rec) for rec in ours)
    assert "failed" in text and "HTTP 400" in text  # the failure is logged...
    assert _leaks(text) == []  # ...without what it echoed
    assert "+86 138****5678" in text

    entries = await delivery_log(r)
    assert {e["status"] for e in entries} == {"sent", "failed"}
    assert {e["to"] for e in entries} == {"+86 138****5678", "f***@example.cn", "+86 139****4321"}
    assert _leaks(repr(entries)) == []
    failed = next(e for e in entries if e["status"] == "failed")
    assert "Invalid 'To' +86 139****4321" in failed["error"]

    # Nor in any key or value the service wrote.
    dump = []
    async for key in r.scan_iter("fw:delivery:*"):
        dump.append(key)
        kind = await r.type(key)
        if kind == "string":
            dump.append(await r.get(key))
        elif kind == "set":
            dump.extend(await r.smembers(key))
    assert len(dump) > 4
    assert _leaks("\n".join(dump)) == []


def test_cli_puts_the_filter_on_root_handlers_for_library_logs(caplog) -> None:
    from stream.delivery.privacy import _filter, install_redaction

    caplog.set_level(logging.INFO)
    install_redaction([SID, TOKEN], root_handlers=True)  # what `floorwatch deliver` does
    try:
        assert _filter in caplog.handler.filters
        logging.getLogger("aiohttp.client").info("POST https://api.example/Accounts/%s/Messages.json to %s", SID, FLOOR_PHONE)
    finally:
        caplog.handler.removeFilter(_filter)
    assert _leaks(caplog.text) == [] and "Accounts/***/Messages.json to +86 138****5678" in caplog.text


from hypothesis import given, settings  # noqa: E402 - kept next to the property it serves
from hypothesis import strategies as st  # noqa: E402

_text = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Zs", "Po", "Lo")), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    before=_text,
    after=_text,
    national=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    cc=st.sampled_from(["", "+86", "86", "0086"]),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_redact_never_lets_a_mobile_number_through(before: str, after: str, national: str, cc: str, sep: str) -> None:
    number = f"{cc}{sep if cc else ''}{national[:3]}{sep}{national[3:7]}{sep}{national[7:]}"
    out = redact(f"{before}{number}{after}")
    assert national not in out.replace(" ", "").replace("-", "")
    assert national[-4:] in out  # masked, not erased: the last four digits still tell numbers apart
