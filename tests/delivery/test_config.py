"""config/delivery.yaml validation (errors name the file and the field), and `floorwatch deliver`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stream.delivery.config import (
    DEFAULT_DELIVERY_CONFIG,
    ConfigError,
    DeliveryConfig,
    channel_type,
    load_delivery_config,
)
from tests.delivery_fixtures import *  # noqa: F403 - fixtures
from tests.delivery_fixtures import base_config
from tests.delivery_support import change, delivery_log, wait_for, xadd_change

REPO = Path(__file__).resolve().parents[2]


def test_default_config_is_valid_and_never_leaves_the_machine() -> None:
    cfg = load_delivery_config(DEFAULT_DELIVERY_CONFIG, env={})
    assert {channel_type(c) for c in cfg.channels.values()} == {"log"}
    assert cfg.routes and all(n.via == "log" for r in cfg.routes for lv in r.levels for n in lv.notify)
    # The demo floor's critical hotline alerts escalate to the duty manager.
    route = cfg.route_for({"site": "gd-hotline", "severity": "critical", "rule": "x", "queue": "vip"})
    assert route is not None and len(route.levels) >= 2


def _err(data: dict, env: dict | None = None) -> str:
    with pytest.raises(ConfigError) as exc:
        DeliveryConfig.from_dict(data, source="config/delivery.yaml", env=env or {})
    return str(exc.value)


def test_env_references_are_resolved_and_missing_ones_named() -> None:
    data = base_config("http://127.0.0.1:9")
    data["channels"]["sms"]["auth_token"] = "${FW_T_TOKEN}"
    data["recipients"]["floor"]["phone"] = "${FW_T_PHONE:-+8613800000009}"
    cfg = DeliveryConfig.from_dict(data, env={"FW_T_TOKEN": "tkn"})
    assert cfg.channels["sms"].auth_token == "tkn" and cfg.recipients["floor"].phone == "+8613800000009"
    assert _err(data) == (
        "config/delivery.yaml: environment variable FW_T_TOKEN is not set - at `$.channels.sms.auth_token`"
    )


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["recipients"]["floor"].update(phone="13812345678"),
         "Expected `str` matching regex '^\\\\+[1-9][0-9 \\\\-]{6,18}$' - at `$.recipients.floor.phone`"),
        (lambda d: d["recipients"]["floor"].update(quiet_hours={"start": "22:00", "end": "7:00"}),
         "- at `$.recipients.floor.quiet_hours.end`"),
        (lambda d: d["recipients"]["floor"].update(timezone="Asia/Nowhere"),
         "unknown timezone 'Asia/Nowhere' - at `$.recipients.floor`"),
        (lambda d: d["channels"]["sms"].update(type="twillio"), "Invalid value 'twillio' - at `$.channels.sms.type`"),
        (lambda d: d["channels"]["sms"].pop("auth_token"),
         "Object missing required field `auth_token` - at `$.channels.sms`"),
        (lambda d: d["channels"]["pager"].update(base_url="events.pagerduty.com"), "- at `$.channels.pager.base_url`"),
        (lambda d: d["routes"][0]["levels"][1]["notify"][0].update(to="ceo"),
         "unknown recipient 'ceo' - at `$.routes[0].levels[1].notify[0].to`"),
        (lambda d: d["routes"][0]["levels"][0]["notify"][0].update(via="fax"),
         "unknown channel 'fax' - at `$.routes[0].levels[0].notify[0].via`"),
        (lambda d: d["routes"][0]["levels"][0]["notify"][0].update(to="duty", via="mail"),
         "recipient 'duty' has no email for channel 'mail' - at `$.routes[0].levels[0].notify[0]`"),
        (lambda d: d["routes"][0]["levels"][1].update(after_min=0),
         "levels must have increasing after_min - at `$.routes[0]`"),
        (lambda d: d["routes"][0]["levels"][1].update(after_min=-1),
         "Expected `float` >= 0.0 - at `$.routes[0].levels[1].after_min`"),
        (lambda d: d["routes"][0]["match"].update(severities=["urgent"]) if "match" in d["routes"][0]
         else d["routes"][0].update(match={"severities": ["urgent"]}),
         "- at `$.routes[0].match.severities[0]`"),
        (lambda d: d["retry"].update(attempts=0), "Expected `int` >= 1 - at `$.retry.attempts`"),
        (lambda d: d.update(extra=1), "Object contains unknown field `extra`"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_the_field(mutate, message: str) -> None:
    data = base_config("http://127.0.0.1:9")
    mutate(data)
    err = _err(data)
    assert err.startswith("config/delivery.yaml: ") and message in err


def test_load_names_the_file(tmp_path) -> None:
    p = tmp_path / "delivery.yaml"
    p.write_text("channels: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{p}:[0-9]+:[0-9]+: not valid YAML"):
        load_delivery_config(p)
    with pytest.raises(ConfigError, match="cannot read"):
        load_delivery_config(tmp_path / "missing.yaml")


def _cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "deliver", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_cli_rejects_a_bad_config_with_exit_2(tmp_path) -> None:
    p = tmp_path / "bad.yaml"
    data = base_config("http://127.0.0.1:9")
    data["retry"]["attempts"] = 0
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = _cli("--redis", "redis://127.0.0.1:9/0", "--config", str(p))
    assert res.returncode == 2
    assert f"{p}: Expected `int` >= 1 - at `$.retry.attempts`" in res.stderr


@pytest.mark.integration
async def test_cli_with_the_default_config_writes_the_delivery_log(r, redis_server) -> None:
    # `floorwatch deliver` with config/delivery.yaml: the log channel only.
    env = {"FW_PHONE_FLOOR_GD": "+8613811112222", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream.cli.main", "deliver", "--redis", redis_server.url, "--for-seconds", "20"],
        cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # A fresh consumer group starts at the beginning of the stream, so the
        # change may be added before the process is up.
        await xadd_change(r, change("raised", severity="critical"))

        async def logged() -> bool:
            return len(await delivery_log(r)) == 1

        await wait_for(logged, timeout=30, what="delivery log entry from the CLI")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    [entry] = await delivery_log(r)
    assert (entry["channel"], entry["recipient"], entry["status"]) == ("log", "floor-manager-gd", "sent")
    assert entry["to"] == "+86 138****2222"  # the phone from the environment, masked
    assert proc.returncode == 0, err
    assert "log channel" in err and "+86 138****2222" in err and "13811112222" not in err


def test_cli_reports_an_unreachable_redis_without_its_password() -> None:
    from stream.local.embedded import free_port

    res = _cli("--redis", f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0")
    assert res.returncode == 1
    assert "cannot reach Redis at redis://***@127.0.0.1:" in res.stderr and "s3cret-pw" not in res.stderr
