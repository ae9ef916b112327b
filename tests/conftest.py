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
