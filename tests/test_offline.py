"""Nothing to reach: a dead port or a host name that does not resolve fails at once with a network hint
(before: 10 s of retries against the emulator, 2 minutes against Google, then "try again in a few
minutes"). Real gRPC channels, no server."""

from __future__ import annotations

import socket

import pytest
from google.api_core import exceptions as gexc

from ga4kit import errors
from ga4kit.connect import default_retry, is_transient, make_clients


def _dead_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fail(address: str, retry=None) -> errors.ApiError:
    with make_clients(emulator=address, retry=retry) as clients:
        with pytest.raises(errors.ApiError) as info:
            clients.admin.get_property(name="properties/1")
        assert clients.calls == ["get_property"]
    return info.value


def test_a_dead_port_fails_at_once_with_the_emulator_hint():
    address = f"127.0.0.1:{_dead_port()}"
    err = _fail(address)
    assert isinstance(err, errors.NetworkError) and err.status == "UNAVAILABLE"
    assert "connection was refused" in err.message
    assert "gave up after retrying" not in err.message  # not retried
    assert f"Nothing answers at {address}" in err.hint and "ga4kit emulator start" in err.hint


def test_an_unresolvable_host_fails_at_once_even_with_googles_two_minute_retry():
    err = _fail("no-such-host.invalid:50051", retry=default_retry())  # the retry ga4kit uses for Google
    assert isinstance(err, errors.NetworkError)
    assert "does not resolve" in err.message and "gave up after retrying" not in err.message


def test_network_failures_are_not_transient_but_a_busy_service_is():
    # The real gRPC errors, caught before ga4kit translates them.
    import grpc
    from google.analytics import admin_v1beta
    from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
        AnalyticsAdminServiceGrpcTransport,
    )

    for address in (f"127.0.0.1:{_dead_port()}", "no-such-host.invalid:50051"):
        channel = grpc.insecure_channel(address)
        client = admin_v1beta.AnalyticsAdminServiceClient(transport=AnalyticsAdminServiceGrpcTransport(channel=channel))
        with pytest.raises(gexc.ServiceUnavailable) as info:
            client.get_property(name="properties/1")
        channel.close()
        assert not is_transient(info.value), info.value
    assert is_transient(gexc.ServiceUnavailable("The service is currently unavailable."))
    assert is_transient(gexc.DeadlineExceeded("Deadline expired before operation could complete."))
    assert not is_transient(gexc.PermissionDenied("no"))


def test_google_offline_gets_the_network_hint():
    # gRPC's text for an unresolvable Google endpoint (as measured offline); the emulator tests above get
    # the same text from real channels.
    from ga4kit.api_errors import translate

    got = translate(gexc.ServiceUnavailable("errors resolving analyticsdata.googleapis.com:443: [field:hostname "
                                            "lookup error:address lookup failed for analyticsdata.googleapis.com:"
                                            "443: Domain name not found]"), method="run_report")
    assert isinstance(got, errors.NetworkError)
    assert "network connection" in got.hint and "Try again in a few" not in got.hint
