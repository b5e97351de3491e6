"""Back-off, the lease rule and the signature format, without a database."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import ValidationError

from feed.delivery import signature, verify_signature
from feed.settings import FeedSettings


def test_backoff_doubles_up_to_the_cap() -> None:
    s = FeedSettings(backoff_base_s=2, backoff_cap_s=20)
    assert [s.backoff_s(n) for n in range(1, 6)] == [2, 4, 8, 16, 20]


def test_a_lease_must_outlast_a_delivery() -> None:
    with pytest.raises(ValidationError):
        FeedSettings(timeout_s=30, lease_s=30)


def test_the_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = '{"mutations":[{"featureId":1,"comment":"补测"}]}'.encode()
    expected = hmac.new(b"k" * 32, body, hashlib.sha256).hexdigest()
    assert signature("k" * 32, body) == f"sha256={expected}"
    assert verify_signature("k" * 32, body, f"sha256={expected}")
    assert not verify_signature("k" * 32, body + b" ", f"sha256={expected}")
