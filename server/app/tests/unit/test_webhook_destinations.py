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
# IANA special-purpose ranges that ipaddress.is_global calls global, or that are not
# unicast: refused all the same.
SPECIAL_PURPOSE = [
    ("http://192.0.0.9/hook", "IETF protocol assignment"),
    ("http://192.0.0.170/hook", "IETF protocol assignment"),
    ("http://192.0.2.1/hook", "documentation"),
    ("http://192.31.196.1/hook", "AS112"),
    ("http://192.52.193.1/hook", "AMT"),
    ("http://192.88.99.1/hook", "6to4 relay"),
    ("http://192.175.48.1/hook", "AS112"),
    ("http://198.18.0.1/hook", "benchmarking"),
    ("http://198.19.255.254/hook", "benchmarking"),
    ("http://198.51.100.7/hook", "documentation"),
    ("http://203.0.113.7/hook", "documentation"),
    ("http://100.127.255.1/hook", "carrier-grade NAT"),
    ("http://255.255.255.255/hook", "broadcast"),
    ("http://0.1.2.3/hook", "unspecified|this network"),
    ("http://[2001:db8::1]/hook", "documentation"),
    ("http://[64:ff9b::7f00:1]/hook", "NAT64"),
    ("http://[64:ff9b::808:808]/hook", "NAT64"),
    ("http://[64:ff9b:1::1]/hook", "NAT64"),
    ("http://[::ffff:192.0.0.9]/hook", "IETF protocol assignment"),
    ("http://[::ffff:198.18.0.1]/hook", "benchmarking"),
    ("http://[2001:1::1]/hook", "IETF protocol assignment"),
    ("http://[2620:4f:8000::1]/hook", "AS112"),
    ("http://[3fff::1]/hook", "documentation"),
    ("http://[5f00::1]/hook", "segment routing"),
    ("http://[100::1]/hook", "discard-only"),
    ("http://[4000::1]/hook", "outside 2000::/3"),
    ("http://[::7f00:1]/hook", "loopback|outside 2000::/3"),
    ("http://[fec0::1]/hook", "outside 2000::/3"),
]


def no_lookup(host: str) -> list[str]:
    raise AssertionError(f"{host} needs no lookup")


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(InvalidCallbackUrl, match="VIDEO_JOBS_WEBHOOK_ALLOW_PRIVATE"):
        validate_callback_url(url, secret_configured=True, resolve=no_lookup)


@pytest.mark.parametrize(("url", "kind"), SPECIAL_PURPOSE)
def test_special_purpose_and_non_unicast_ranges_are_refused(url: str, kind: str) -> None:
    with pytest.raises(InvalidCallbackUrl, match=kind):
        validate_callback_url(url, secret_configured=True, resolve=no_lookup)


def test_a_name_that_resolves_to_a_special_purpose_address_is_refused() -> None:
    with pytest.raises(InvalidCallbackUrl, match=r"192\.0\.0\.9, a special-purpose"):
        validate_callback_url(
            "https://hooks.example/x", secret_configured=True, resolve=lambda h: ["192.0.0.9"]
        )


def test_allow_private_lets_special_purpose_addresses_through() -> None:
    for host in ("198.18.0.1", "192.0.0.9", "[64:ff9b::7f00:1]"):
        url = f"http://{host}:9/hook"
        assert validate_callback_url(url, secret_configured=True, allow_private=True)


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
