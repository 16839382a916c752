"""The webhook address rule: every spelling of an internal address is refused."""

from __future__ import annotations

import pytest

from app.domain.destinations import checked_addresses, parse_address
from app.domain.errors import InvalidCallbackUrl
from app.domain.webhooks import MAX_CALLBACK_URL, validate_callback_url

pytestmark = pytest.mark.unit

INTERNAL = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::1]:8000/hook",
    "http://0.0.0.0/hook",
    "http://localhost:8000/video/submit",
    "http://api.localhost/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[2002:7f00:1::]/hook",
]


def no_lookup(host: str) -> list[str]:
    raise AssertionError(f"{host} needs no lookup")


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(InvalidCallbackUrl, match="VIDEO_JOBS_WEBHOOK_ALLOW_PRIVATE"):
        validate_callback_url(url, secret_configured=True, resolve=no_lookup)


def test_a_name_that_resolves_to_any_internal_address_is_refused() -> None:
    def resolve(host: str) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(InvalidCallbackUrl, match=r"10\.1\.2\.3, a private address"):
        validate_callback_url("https://hooks.example/x", secret_configured=True, resolve=resolve)


def test_public_addresses_and_names_pass() -> None:
    assert validate_callback_url(
        "https://hooks.example/x", secret_configured=True, resolve=lambda h: ["93.184.215.14"]
    )
    assert checked_addresses("8.8.8.8", resolve=no_lookup, allow_private=False) == ["8.8.8.8"]


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def resolve(host: str) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(InvalidCallbackUrl, match="does not resolve"):
        validate_callback_url("http://nowhere.invalid/", secret_configured=True, resolve=resolve)


def test_allow_private_lets_loopback_through() -> None:
    url = "http://127.0.0.1:9/hook"
    assert validate_callback_url(url, secret_configured=True, allow_private=True)


def test_callback_url_length_is_capped() -> None:
    url = "https://hooks.example/" + "a" * MAX_CALLBACK_URL
    with pytest.raises(InvalidCallbackUrl, match="at most 2048"):
        validate_callback_url(url, secret_configured=True, resolve=no_lookup)


def test_names_are_not_mistaken_for_numbers() -> None:
    assert parse_address("deadbeef.example") is None
    assert parse_address("cafe") is None
    assert str(parse_address("0x7f.1")) == "127.0.0.1"
