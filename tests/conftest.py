"""Shared fixtures. A developer's own credentials or emulator settings never reach the tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path_factory):
    for key in list(os.environ):
        if key.startswith("GA4KIT_") or key in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
                                                 "CLOUDSDK_CONFIG"):
            monkeypatch.delenv(key, raising=False)
    # Application Default Credentials must not be found on a developer's machine either.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path_factory.mktemp("gcloud-empty")))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    # Lock files of this test session only (a developer's own runs must not block the tests, nor the reverse).
    monkeypatch.setenv("GA4KIT_LOCK_DIR", str(tmp_path_factory.mktemp("locks")))


# ----------------------------------------------------------------------------- the local GA4 emulator
@pytest.fixture
def emulator():
    """A fresh in-process emulator (no demo data): one account, one standard property with its web stream.

    ``emulator.test_property`` / ``emulator.test_stream`` / ``emulator.test_account`` hold their ids.
    """
    from ga4kit.emulator import Emulator

    emu = Emulator(demo=False)
    account = emu.admin.create_account("Test Account")
    pid = emu.admin.create_property(account, "Test Shop", time_zone="Europe/Berlin", currency="EUR")
    sid = emu.admin.create_web_stream(pid, "Test Shop web", "https://shop.example.com")
    emu.test_account, emu.test_property, emu.test_stream = account, pid, sid
    emu.start()
    try:
        yield emu
    finally:
        emu.stop(grace=None)


@pytest.fixture
def emulator_clients(emulator):
    """ga4kit's clients (edit scope) connected to the ``emulator`` fixture."""
    from ga4kit.connect import make_clients

    clients = make_clients(emulator=emulator.address, write=True)
    try:
        yield clients
    finally:
        clients.close()
