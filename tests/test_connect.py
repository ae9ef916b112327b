"""Credentials loading, the client factory and error translation (no network: emulator tests cover calls)."""

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as gexc

from ga4kit import api_errors, errors
from ga4kit.connect import EDIT_SCOPE, READONLY_SCOPE, emulator_host, load_credentials, make_clients

SECRET = "THIS-MUST-NEVER-BE-PRINTED"


@pytest.fixture(scope="module")
def key_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def sa_file(tmp_path, key_pem):
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": key_pem,
        "client_email": "reader@p.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    return path


def test_service_account_file_gets_readonly_scope_unless_writing(sa_file):
    read = load_credentials(str(sa_file))
    assert read.principal == "reader@p.iam.gserviceaccount.com"
    assert list(read.credentials.scopes) == [READONLY_SCOPE]
    write = load_credentials(str(sa_file), write=True)
    assert list(write.credentials.scopes) == [EDIT_SCOPE]


def test_environment_variable_is_used(sa_file, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    loaded = load_credentials()
    assert loaded.principal == "reader@p.iam.gserviceaccount.com"
    assert "sa.json" in loaded.source


def test_no_credentials_gives_numbered_steps():
    start = time.monotonic()
    with pytest.raises(errors.CredentialsError) as info:
        load_credentials()
    text = str(info.value)
    assert "1." in text and "4." in text
    assert "Property access management" in text
    assert "ga4kit demo" in text
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("content,needle", [
    (b"{not json " + SECRET.encode(), "not valid JSON"),
    (json.dumps({"type": "something", "secret": SECRET}).encode(), "not a Google credentials file"),
    (json.dumps({"type": "service_account", "private_key": SECRET}).encode(), "incomplete or damaged"),
    (b"\xff\xfe" + SECRET.encode(), "not valid JSON"),
])
def test_bad_files_are_explained_without_echoing_content(tmp_path, content, needle):
    path = tmp_path / "key.json"
    path.write_bytes(content)
    with pytest.raises(errors.CredentialsError) as info:
        load_credentials(str(path))
    assert needle in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None or SECRET not in str(info.value.__cause__)


def test_missing_file(tmp_path):
    with pytest.raises(errors.CredentialsError, match="does not exist"):
        load_credentials(str(tmp_path / "nope.json"))


def test_emulator_address_forms(monkeypatch):
    assert emulator_host("127.0.0.1:5000") == "127.0.0.1:5000"
    assert emulator_host("http://127.0.0.1:5000") == "127.0.0.1:5000"
    assert emulator_host(None) is None
    monkeypatch.setenv("GA4KIT_EMULATOR_HOST", "localhost:7")
    assert emulator_host(None) == "localhost:7"
    with pytest.raises(errors.CredentialsError, match="HOST:PORT"):
        emulator_host("localhost")


def test_emulator_clients_need_no_credentials_and_carry_scope_metadata(sa_file):
    clients = make_clients(emulator="127.0.0.1:9")
    try:
        assert clients.emulator == "127.0.0.1:9"
        assert ("x-ga4kit-scope", "analytics.readonly") in clients.admin._metadata
        assert type(clients.admin.raw).__module__.startswith("google.analytics.admin_v1beta")
        assert type(clients.admin_alpha.raw).__module__.startswith("google.analytics.admin_v1alpha")
        assert type(clients.data.raw).__module__.startswith("google.analytics.data_v1beta")
        assert type(clients.data_alpha.raw).__module__.startswith("google.analytics.data_v1alpha")
    finally:
        clients.close()
    with make_clients(emulator="127.0.0.1:9", credentials_file=str(sa_file), write=True) as clients:
        assert clients.principal == "reader@p.iam.gserviceaccount.com"
        assert ("x-ga4kit-scope", "analytics.edit") in clients.admin._metadata


def test_real_endpoint_clients_use_loaded_credentials(sa_file):
    # Builds Google's real clients (no call is made: nothing here reaches the network).
    with make_clients(credentials_file=str(sa_file)) as clients:
        assert clients.emulator is None
        assert clients.principal == "reader@p.iam.gserviceaccount.com"


@pytest.mark.parametrize("exc,cls,hint", [
    (gexc.PermissionDenied("User does not have sufficient permissions for this property."),
     errors.PermissionDeniedError, "Property access management"),
    (gexc.PermissionDenied("Request had insufficient authentication scopes."),
     errors.PermissionDeniedError, "analytics.edit"),
    (gexc.NotFound("Property properties/1 not found."), errors.NotFoundError, "property id"),
    (gexc.ResourceExhausted("Exhausted property tokens per hour quota."),
     errors.QuotaExhaustedError, "tokens per hour; it refills within the hour"),
    (gexc.ResourceExhausted("Exhausted property tokens per day quota."),
     errors.QuotaExhaustedError, "midnight Pacific"),
    (gexc.ResourceExhausted("Exhausted concurrent requests quota."),
     errors.QuotaExhaustedError, "run fewer pulls in parallel"),
    (gexc.ServiceUnavailable("backend down"), errors.UnavailableError, "Try again"),
    (gexc.InvalidArgument("Field foo is not a valid dimension."), errors.InvalidArgumentError, "refused"),
])
def test_translate_maps_status_to_class_and_hint(exc, cls, hint):
    # Constructs google.api_core exceptions directly: the emulator tests exercise the same path over gRPC.
    err = api_errors.translate(exc, method="run_report")
    assert isinstance(err, cls) and isinstance(err, errors.Ga4kitError)
    assert hint in err.hint
    assert err.status == exc.grpc_status_code.name
    assert "run_report failed" in err.message


def test_retry_error_keeps_the_cause():
    err = api_errors.translate(gexc.RetryError("gave up", gexc.ServiceUnavailable("down")), method="x")
    assert isinstance(err, errors.UnavailableError) and "after retrying" in err.message


def test_google_channels_get_the_raised_receive_limit(sa_file, monkeypatch):
    # A spy on grpc.secure_channel (the real one still builds every channel): Google's endpoints cannot
    # be reached from a test, but the channel ga4kit asks for can be looked at.
    import grpc

    from ga4kit.connect import MAX_RECEIVE_BYTES

    made = []
    real = grpc.secure_channel

    def spy(target, credentials, **kwargs):
        made.append((target, dict(kwargs.get("options") or ())))
        return real(target, credentials, **kwargs)

    from google.auth.transport import grpc as auth_grpc

    signed_by = []
    real_plugin = auth_grpc.AuthMetadataPlugin.__init__

    def plugin(self, credentials, request, *args, **kwargs):  # the credentials every call is signed with
        signed_by.append(credentials)
        real_plugin(self, credentials, request, *args, **kwargs)

    monkeypatch.setattr(grpc, "secure_channel", spy)
    monkeypatch.setattr(auth_grpc.AuthMetadataPlugin, "__init__", plugin)
    with make_clients(credentials_file=str(sa_file)) as clients:
        assert clients.principal_label == "reader@p.iam.gserviceaccount.com"
    assert sorted(t for t, _ in made) == ["analyticsadmin.googleapis.com:443"] * 2 + \
        ["analyticsdata.googleapis.com:443"] * 2
    assert all(o["grpc.max_receive_message_length"] == MAX_RECEIVE_BYTES for _, o in made)
    assert MAX_RECEIVE_BYTES >= 256 * 1024 * 1024
    assert len(signed_by) == 4
    assert all(c.service_account_email == "reader@p.iam.gserviceaccount.com" for c in signed_by)
    assert all(list(c.scopes) == [READONLY_SCOPE] for c in signed_by)


def test_permission_denied_hint_names_the_principal():
    from ga4kit.connect import LoadedCredentials, principal_label

    denied = gexc.PermissionDenied("User does not have sufficient permissions for this property.")
    err = api_errors.translate(denied, method="get_property", principal="reader@p.iam.gserviceaccount.com")
    assert "called GA4 as reader@p.iam.gserviceaccount.com" in err.hint and "Property access management" in err.hint
    adc = principal_label(LoadedCredentials(object(), None, "application default"))
    assert adc == "your Application Default Credentials account"
    err = api_errors.translate(denied, method="get_property", principal=adc)
    assert "called GA4 as your Application Default Credentials account" in err.hint
    # a scope problem keeps its own hint
    scope = api_errors.translate(gexc.PermissionDenied("Request had insufficient authentication scopes."),
                                 principal="reader@p.iam.gserviceaccount.com")
    assert "analytics.edit" in scope.hint
