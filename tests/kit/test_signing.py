"""Signed tokens: bound to a purpose and values, expiring, rotating keys, and the key file."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from leadgate.config import Settings
from leadgate.kit.signing import Check, Signer, deployment_keys


def test_a_token_is_good_only_for_its_purpose_values_and_time() -> None:
    signer = Signer([b"key one"])
    token = signer.sign("sign-in", "acme", "nonce", ttl_s=60, now=1000.0)
    assert signer.check(token, "sign-in", "acme", "nonce", now=1060.0) is Check.OK
    assert signer.check(token, "sign-in", "acme", "nonce", now=1061.0) is Check.EXPIRED
    for purpose, values in (("other", ("acme", "nonce")), ("sign-in", ("acme", "x"))):
        assert signer.check(token, purpose, *values, now=1000.0) is Check.FORGED
    assert signer.check(token, "sign-in", "acme", "nonce", "more", now=1000.0) is Check.FORGED
    expiry, _, mac = token.partition(".")
    later = f"{int(expiry) + 3600}.{mac}"  # a longer life is not the signer's
    assert signer.check(later, "sign-in", "acme", "nonce", now=1000.0) is Check.FORGED
    for junk in ("", "k", ".", "1.", "²3.abc", token + "x"):
        assert signer.check(junk, "sign-in", "acme", "nonce", now=1000.0) is Check.FORGED
    assert Signer([b"another key"]).check(token, "sign-in", "acme", "nonce", now=1000.0) == (
        Check.FORGED
    )


def test_rotation_signs_with_the_first_key_and_accepts_all() -> None:
    old = Signer([b"old"]).sign("f", "v", ttl_s=60, now=0.0)
    rotated = Signer([b"new", b"old"])
    assert rotated.check(old, "f", "v", now=1.0) is Check.OK
    assert Signer([b"new"]).check(rotated.sign("f", "v", ttl_s=60, now=0.0), "f", "v", now=1.0) == (
        Check.OK
    )


def test_the_key_comes_from_the_setting_or_a_file_made_once(tmp_path: Path) -> None:
    assert deployment_keys(Settings(data_dir=tmp_path, secret_key=SecretStr("a, b"))) == [
        b"a",
        b"b",
    ]
    with pytest.raises(RuntimeError, match="holds no key"):
        deployment_keys(Settings(data_dir=tmp_path, secret_key=SecretStr(" , ")))
    folder = tmp_path / "data"
    with ThreadPoolExecutor(8) as pool:  # many processes starting at once agree on one key
        unset = Settings(data_dir=folder, secret_key=None)  # not the run's key: the file
        keys = set(pool.map(lambda _: deployment_keys(unset)[0], range(16)))
    assert len(keys) == 1
    key_file = folder / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert keys == {key_file.read_bytes().strip()}
    assert sorted(p.name for p in folder.iterdir()) == ["secret.key"]
