"""Credentials and the one factory that builds GA4 clients, for Google's endpoints or the local emulator.

``make_clients()`` returns a :class:`Clients` holding the Admin (v1beta, v1alpha) and Data (v1beta,
v1alpha) clients. Each is wrapped so that every call gets a retry policy for transient errors and any
failure comes out as a :class:`ga4kit.errors.ApiError` with a hint.

Every gRPC channel (to Google or to the emulator) is built here, with a receive limit of
:data:`MAX_RECEIVE_BYTES` instead of gRPC's default 4 MiB.

:func:`sheets_access` is the same for Google Sheets (the ``sheets://`` destination): an authorised HTTP
session asking for the spreadsheets scope (only ga4kit's Sheets writes ask for it; GA4 stays read-only),
or, with the emulator, a plain session to its Sheets stand-in that says who calls.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ga4kit.errors import CredentialsError

if TYPE_CHECKING:  # the wrappers below forward every method of these clients
    from google.analytics.admin_v1alpha import AnalyticsAdminServiceClient as AdminAlphaClient
    from google.analytics.admin_v1beta import AnalyticsAdminServiceClient as AdminClient
    from google.analytics.data_v1alpha import AlphaAnalyticsDataClient
    from google.analytics.data_v1beta import BetaAnalyticsDataClient

READONLY_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
EDIT_SCOPE = "https://www.googleapis.com/auth/analytics.edit"
EMULATOR_ENV = "GA4KIT_EMULATOR_HOST"
SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
SHEETS_ENV = "GA4KIT_SHEETS_ENDPOINT"
SHEETS_API = "https://sheets.googleapis.com"
EMULATOR_ENDPOINTS_METHOD = "/ga4kit.emulator.v1.Emulator/GetEndpoints"

# Metadata the local emulator reads to know who calls and with which scope (Google ignores neither; we
# only send them to the emulator).
PRINCIPAL_HEADER = "x-ga4kit-principal"
SCOPE_HEADER = "x-ga4kit-scope"

# gRPC refuses answers over 4 MiB unless told otherwise, yet GA4 sends up to 250,000 rows per page: a
# day-grain year of 50 goals by channel is ~8 MB, a full page with 9 dimensions and 10 metrics can pass
# 100 MB. 256 MiB holds any page GA4 answers for ga4kit's requests with room to spare, and still bounds
# memory: an answer beyond it fails with "the response is too large" (ResponseTooLargeError), not silently.
MAX_RECEIVE_BYTES = 256 * 1024 * 1024
CHANNEL_OPTIONS = (("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),)

NO_CREDENTIALS = """No Google credentials were found. To give ga4kit access to GA4:
  1. In Google Cloud, enable the "Google Analytics Admin API" and "Google Analytics Data API" for a project.
  2. Create a service account there and download a JSON key for it (keep it out of version control).
  3. In GA4, open Admin > Property access management and add the service account's e-mail (client_email in
     the key) with the Viewer role (plan, pull, chains) or Editor role (apply).
  4. Pass the key with --credentials KEY.json or export GOOGLE_APPLICATION_CREDENTIALS=KEY.json.
     (Or use your own account: gcloud auth application-default login
     --scopes=https://www.googleapis.com/auth/analytics.edit,https://www.googleapis.com/auth/cloud-platform)
To try ga4kit without an account, use the local emulator: `ga4kit demo`, or `ga4kit emulator start` and
--emulator HOST:PORT."""


@dataclass(frozen=True)
class LoadedCredentials:
    credentials: Any  # google.auth.credentials.Credentials
    principal: str | None  # service account e-mail, when the key names one
    source: str  # "file PATH", "GOOGLE_APPLICATION_CREDENTIALS", "application default"


def scope_for(write: bool) -> str:
    return EDIT_SCOPE if write else READONLY_SCOPE


def _read_key_file(path: str, origin: str) -> dict:
    """Parse a credentials file without ever putting its content in an error message."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(1_000_000)
    except FileNotFoundError:
        raise CredentialsError(
            f"The credentials file {path} ({origin}) does not exist.",
            "Check the path, or download a service-account key from Google Cloud > IAM > Service accounts > Keys.",
        ) from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise CredentialsError(
            f"The credentials file {path} ({origin}) cannot be read: {exc.strerror or type(exc).__name__}.",
            "Check the path and the file's permissions.",
        ) from None
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CredentialsError(
            f"The credentials file {path} ({origin}) is not valid JSON.",
            "Download the key again from Google Cloud > IAM > Service accounts > Keys (JSON), or create "
            "authorized-user credentials with `gcloud auth application-default login`.",
        ) from None
    if not isinstance(info, dict) or info.get("type") not in ("service_account", "authorized_user",
                                                                 "external_account", "impersonated_service_account"):
        raise CredentialsError(
            f"The credentials file {path} ({origin}) is not a Google credentials file (its \"type\" should be "
            "\"service_account\" or \"authorized_user\").",
            "Use the JSON key of a service account, or the file written by "
            "`gcloud auth application-default login`.",
        )
    return info


def _credentials_from_info(info: dict, path: str, scopes: list[str]):
    """Credentials of the key's own type; the generic loader is kept for the rarer federated types."""
    if info["type"] == "service_account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(info, scopes=scopes)
    if info["type"] == "authorized_user":
        from google.oauth2 import credentials as user_credentials

        return user_credentials.Credentials.from_authorized_user_info(info, scopes=scopes)
    import warnings

    import google.auth

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # we checked the file's type ourselves above
        creds, _ = google.auth.load_credentials_from_file(path, scopes=scopes)
    return creds


def load_credentials(credentials_file: str | None = None, *, write: bool = False,
                     scopes: list[str] | None = None) -> LoadedCredentials:
    """Credentials from a file, GOOGLE_APPLICATION_CREDENTIALS, or Application Default Credentials.

    Asks for analytics.readonly unless ``write`` (then analytics.edit); ``scopes`` asks for those instead
    (the Sheets destination asks for :data:`SHEETS_SCOPE` alone).
    """
    import google.auth
    from google.auth import exceptions as gauth_exc

    scopes = list(scopes) if scopes else [scope_for(write)]
    env_path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    path, origin = (credentials_file, "--credentials") if credentials_file else (
        (env_path, "GOOGLE_APPLICATION_CREDENTIALS") if env_path else (None, None))
    if path:
        info = _read_key_file(path, origin)
        try:
            creds = _credentials_from_info(info, path, scopes)
        except (gauth_exc.GoogleAuthError, ValueError, KeyError, TypeError):
            raise CredentialsError(
                f"The credentials file {path} ({origin}) is incomplete or damaged "
                f"(type {info.get('type')!r}).",
                "Download a new key from Google Cloud > IAM > Service accounts > Keys.",
            ) from None
        return LoadedCredentials(creds, info.get("client_email"), f"file {path}")
    try:
        creds, _ = google.auth.default(scopes=scopes)
    except gauth_exc.DefaultCredentialsError:
        raise CredentialsError(NO_CREDENTIALS) from None
    return LoadedCredentials(creds, _principal_of(creds), "application default")


def _principal_of(creds: Any) -> str | None:
    """The e-mail Application Default Credentials act as, when they carry one (a service account; user
    credentials written by a recent gcloud name their ``account``)."""
    for attr in ("service_account_email", "signer_email", "account"):
        value = getattr(creds, attr, None)
        if isinstance(value, str) and "@" in value:
            return value
    return None


def principal_label(loaded: LoadedCredentials) -> str:
    """Who ga4kit calls GA4 as, for messages: the e-mail, or a description when the credentials name none."""
    if loaded.principal:
        return loaded.principal
    if loaded.source == "application default":
        return "your Application Default Credentials account"
    return f"the Google account of the credentials in {loaded.source}"


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call is worth retrying: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, ABORTED, except
    when nothing can be reached at all (a host name that does not resolve, a refused connection): gRPC
    reports those as UNAVAILABLE too, but they do not go away in the two minutes a retry waits."""
    from google.api_core import exceptions as gexc

    from ga4kit.api_errors import network_failure

    if not isinstance(exc, (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError,
                            gexc.Aborted)):
        return False
    return network_failure(getattr(exc, "message", None) or str(exc)) is None


def default_retry(initial: float = 0.5, maximum: float = 16.0, deadline: float = 120.0):
    """Retry policy for transient errors (:func:`is_transient`). Google's clients set none on these methods."""
    from google.api_core.retry import Retry

    return Retry(predicate=is_transient, initial=initial, maximum=maximum, multiplier=2.0, timeout=deadline)


class _Api:
    """A Google client whose calls get retry, timeout and metadata defaults and ga4kit's errors."""

    def __init__(self, client: Any, *, retry: Any, timeout: float, metadata: tuple, log: Callable | None,
                 emulator: str | None = None, principal: str | None = None):
        self._client = client
        self._emulator = emulator
        self._principal = principal  # who calls, for PERMISSION_DENIED hints
        self._retry = retry
        self._timeout = timeout
        self._metadata = metadata
        self._log = log

    @property
    def raw(self) -> Any:
        """The underlying Google client, for what the wrapper does not cover."""
        return self._client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr) or name.endswith("_path") or name.startswith("parse_"):
            return attr
        return self._wrap(name, attr)

    def _wrap(self, name: str, fn: Callable) -> Callable:
        def call(*args, **kwargs):
            kwargs.setdefault("retry", self._retry)
            kwargs.setdefault("timeout", self._timeout)
            if self._metadata:
                kwargs["metadata"] = tuple(kwargs.get("metadata") or ()) + self._metadata
            if self._log:
                self._log(name)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # every Google client failure becomes an ApiError
                if _is_google_error(exc):
                    raise self._translate(exc, name) from None
                raise
            if type(result).__name__.endswith("Pager"):
                return _Pages(result, name, self._translate)
            return result

        call.__name__ = name
        return call

    def _translate(self, exc: BaseException, method: str):
        """ga4kit's ApiError for a Google client failure, with this connection's hints."""
        from ga4kit.api_errors import translate
        from ga4kit.errors import NetworkError

        err = translate(exc, method=method, principal=self._principal)
        if self._emulator and (isinstance(err, NetworkError) or (
                err.status in ("UNAVAILABLE", "DEADLINE_EXCEEDED") and "connect" in err.message)):
            err.hint = (f"Nothing answers at {self._emulator}. Start the emulator with `ga4kit emulator start` "
                        f"and use the GA4KIT_EMULATOR_HOST=HOST:PORT line it prints, or drop --emulator / "
                        f"{EMULATOR_ENV} to use Google.")
        return err

    def close(self) -> None:
        transport = getattr(self._client, "transport", None)
        if transport is not None:
            transport.close()


def _is_google_error(exc: BaseException) -> bool:
    from google.api_core import exceptions as gexc

    return isinstance(exc, (gexc.GoogleAPIError,))


class _Pages:
    """Iterate a list pager, translating errors raised while fetching later pages."""

    def __init__(self, pager: Any, method: str, error: Callable[[BaseException, str], Exception]):
        self._pager = pager
        self._method = method
        self._error = error

    def __iter__(self):
        it = iter(self._pager)
        while True:
            try:
                item = next(it)
            except StopIteration:
                return
            except Exception as exc:
                if _is_google_error(exc):
                    raise self._error(exc, self._method) from None
                raise
            yield item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pager, name)


@dataclass
class Clients:
    """The GA4 clients a ga4kit operation needs. Build with :func:`make_clients`; close when done (or use
    it as a context manager).

    Each client is Google's own, wrapped: every method takes the same arguments and returns the same
    messages, with ga4kit's retry policy and timeout as defaults and failures raised as
    :class:`ga4kit.errors.ApiError` (with the gRPC status and a hint). ``.raw`` gives the unwrapped client.
    """

    admin: AdminClient  # Admin API v1beta: properties, streams, key events, retention, custom definitions
    admin_alpha: AdminAlphaClient  # Admin API v1alpha: create-event rules, enhanced measurement, signals, ...
    data: BetaAnalyticsDataClient  # Data API v1beta: runReport, batchRunReports, ...
    data_alpha: AlphaAnalyticsDataClient  # Data API v1alpha: runFunnelReport
    emulator: str | None = None  # HOST:PORT when talking to the local emulator
    write: bool = False
    principal: str | None = None  # the e-mail calls are made as, when known
    principal_label: str | None = None  # the same for messages; a description when no e-mail is known
    calls: list = field(default_factory=list)  # method names called, in order (for --verbose and tests)
    _channels: list = field(default_factory=list, repr=False)

    def close(self) -> None:
        for api in (self.admin, self.admin_alpha, self.data, self.data_alpha):
            try:
                api.close()
            except Exception:  # closing must never hide the real outcome
                pass
        for ch in self._channels:
            ch.close()

    def __enter__(self) -> "Clients":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def emulator_host(explicit: str | None = None) -> str | None:
    host = explicit or os.environ.get(EMULATOR_ENV) or None
    if host is None:
        return None
    host = host.strip()
    if host.startswith(("http://", "https://")):
        host = host.split("://", 1)[1]
    if ":" not in host or not host.rsplit(":", 1)[1].isdigit():
        raise CredentialsError(
            f"The emulator address {host!r} is not HOST:PORT.",
            f"Use the value `ga4kit emulator start` printed, e.g. --emulator 127.0.0.1:50051 or "
            f"{EMULATOR_ENV}=127.0.0.1:50051.",
        )
    return host


def make_clients(*, credentials_file: str | None = None, emulator: str | None = None, write: bool = False,
                 retry: Any = None, timeout: float = 60.0, on_call: Callable[[str], None] | None = None) -> Clients:
    """Build every client ga4kit uses.

    ``emulator`` (or GA4KIT_EMULATOR_HOST) points them at a local emulator over an insecure channel;
    otherwise they use Google's endpoints with credentials from :func:`load_credentials`, with the
    analytics.edit scope only when ``write`` is true. ``on_call(method_name)`` is told of every call
    (``--verbose`` prints them).
    """
    from google.analytics import admin_v1alpha, admin_v1beta, data_v1alpha, data_v1beta

    host = emulator_host(emulator)
    if retry is None:
        # A local emulator that does not answer is not coming back in two minutes: fail fast there.
        retry = default_retry(initial=0.1, maximum=2.0, deadline=10.0) if host else default_retry()
    calls: list = []
    channels: list = []

    def log(name: str) -> None:
        calls.append(name)
        if on_call is not None:
            on_call(name)

    from google.analytics.admin_v1alpha.services.analytics_admin_service.transports import (
        AnalyticsAdminServiceGrpcTransport as AdminAlphaT,
    )
    from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
        AnalyticsAdminServiceGrpcTransport as AdminBetaT,
    )
    from google.analytics.data_v1alpha.services.alpha_analytics_data.transports import (
        AlphaAnalyticsDataGrpcTransport as DataAlphaT,
    )
    from google.analytics.data_v1beta.services.beta_analytics_data.transports import (
        BetaAnalyticsDataGrpcTransport as DataBetaT,
    )

    principal = None
    if host:
        import grpc

        if credentials_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            # Only to learn who is calling; the emulator checks property access by this e-mail.
            path = credentials_file or os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
            info = _read_key_file(path, "--credentials" if credentials_file else "GOOGLE_APPLICATION_CREDENTIALS")
            principal = info.get("client_email")
        # One channel per client so closing one never breaks another; a channel makes the transport
        # ignore credentials, which is what a local emulator wants.
        metadata: tuple = ((SCOPE_HEADER, "analytics.edit" if write else "analytics.readonly"),)
        if principal:
            metadata += ((PRINCIPAL_HEADER, principal),)

        def build(cls, transport_cls):
            ch = grpc.insecure_channel(host, options=list(CHANNEL_OPTIONS))
            channels.append(ch)
            return _Api(cls(transport=transport_cls(channel=ch)), retry=retry, timeout=timeout,
                        metadata=metadata, log=log, emulator=host, principal=principal)

        return Clients(
            admin=build(admin_v1beta.AnalyticsAdminServiceClient, AdminBetaT),
            admin_alpha=build(admin_v1alpha.AnalyticsAdminServiceClient, AdminAlphaT),
            data=build(data_v1beta.BetaAnalyticsDataClient, DataBetaT),
            data_alpha=build(data_v1alpha.AlphaAnalyticsDataClient, DataAlphaT),
            emulator=host, write=write, principal=principal, principal_label=principal, calls=calls,
            _channels=channels,
        )

    loaded = load_credentials(credentials_file, write=write)
    label = principal_label(loaded)

    def google(cls, transport_cls):
        client = cls(transport=_google_transport(transport_cls, loaded.credentials))
        return _Api(client, retry=retry, timeout=timeout, metadata=(), log=log, principal=label)

    return Clients(
        admin=google(admin_v1beta.AnalyticsAdminServiceClient, AdminBetaT),
        admin_alpha=google(admin_v1alpha.AnalyticsAdminServiceClient, AdminAlphaT),
        data=google(data_v1beta.BetaAnalyticsDataClient, DataBetaT),
        data_alpha=google(data_v1alpha.AlphaAnalyticsDataClient, DataAlphaT),
        emulator=None, write=write, principal=loaded.principal, principal_label=label, calls=calls,
    )


def _google_transport(transport_cls, credentials):
    """Google's gRPC transport on a channel built here, with ga4kit's receive limit. The transport class's
    own create_channel attaches the credentials (a channel handed to a transport makes it ignore
    credentials); service-account keys sign their own tokens, as Google's clients arrange by default."""
    from google.oauth2 import service_account

    host = transport_cls.DEFAULT_HOST
    if ":" not in host:
        host += ":443"
    if isinstance(credentials, service_account.Credentials) and hasattr(credentials, "with_always_use_jwt_access"):
        credentials = credentials.with_always_use_jwt_access(True)
    channel = transport_cls.create_channel(host, credentials=credentials,
                                           options=[("grpc.max_send_message_length", -1), *CHANNEL_OPTIONS])
    return transport_cls(host=host, channel=channel)


# ----------------------------------------------------------------------------------------- Google Sheets

@dataclass
class SheetsAccess:
    """How ga4kit reaches Google Sheets: an HTTP session (google-auth's AuthorizedSession), the endpoint,
    and who calls (for messages such as "share the spreadsheet with ...")."""

    session: Any  # google.auth.transport.requests.AuthorizedSession
    endpoint: str  # https://sheets.googleapis.com, or the emulator's stand-in
    principal: str | None  # the e-mail calls are made as, when known
    principal_label: str  # the same for messages; a description when no e-mail is known
    stand_in: bool = False  # the emulator's Sheets stand-in, not Google

    def close(self) -> None:
        self.session.close()


def sheets_access(*, credentials_file: str | None = None, emulator: str | None = None) -> SheetsAccess:
    """The session ga4kit writes spreadsheets with.

    With the emulator (``emulator`` or GA4KIT_EMULATOR_HOST), or GA4KIT_SHEETS_ENDPOINT set: the Sheets
    stand-in (GA4KIT_SHEETS_ENDPOINT, else the endpoint the emulator gives), no credentials, the caller
    named in the ``x-ga4kit-principal`` header (the key file's client_email, as for GA4 calls). Otherwise
    Google's endpoint with credentials from :func:`load_credentials` asking for the spreadsheets scope only.
    """
    from google.auth.transport.requests import AuthorizedSession

    endpoint = (os.environ.get(SHEETS_ENV) or "").strip().rstrip("/") or None
    host = emulator_host(emulator)
    if endpoint or host:
        from google.auth.credentials import AnonymousCredentials

        if endpoint is None:
            endpoint = emulator_sheets_endpoint(host)
        principal = None
        path = credentials_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if path:
            info = _read_key_file(path, "--credentials" if credentials_file else "GOOGLE_APPLICATION_CREDENTIALS")
            principal = info.get("client_email")
        session = AuthorizedSession(AnonymousCredentials())
        session.headers[SCOPE_HEADER] = SHEETS_SCOPE
        if principal:
            session.headers[PRINCIPAL_HEADER] = principal
        return SheetsAccess(session, endpoint, principal,
                            principal or "the emulator's default caller (no --credentials given)", stand_in=True)
    loaded = load_credentials(credentials_file, scopes=[SHEETS_SCOPE])
    return SheetsAccess(AuthorizedSession(loaded.credentials), SHEETS_API, loaded.principal,
                        principal_label(loaded))


def emulator_sheets_endpoint(host: str) -> str:
    """Where the emulator at HOST:PORT serves its Sheets stand-in (it answers a small gRPC method)."""
    import grpc

    from ga4kit.errors import OutputError

    channel = grpc.insecure_channel(host)
    try:
        data = channel.unary_unary(EMULATOR_ENDPOINTS_METHOD)(b"", timeout=10)
        endpoint = str(json.loads(data.decode("utf-8"))["sheets"]).rstrip("/")
    except grpc.RpcError as exc:
        code = exc.code().name if hasattr(exc, "code") and exc.code() else "UNKNOWN"
        raise OutputError(
            f"The emulator at {host} did not say where its Google Sheets stand-in listens ({code}).",
            "Start it with `ga4kit emulator start` (it prints GA4KIT_EMULATOR_HOST=... and "
            f"GA4KIT_SHEETS_ENDPOINT=...), or set {SHEETS_ENV} to the stand-in's http://HOST:PORT.") from None
    except (ValueError, KeyError, UnicodeDecodeError):
        raise OutputError(f"The emulator at {host} gave no Google Sheets endpoint.",
                          f"Set {SHEETS_ENV} to the stand-in's http://HOST:PORT.") from None
    finally:
        channel.close()
    # A stand-in listening on every interface is reached at the host the emulator was reached at.
    scheme, _, rest = endpoint.partition("://")
    bound, _, port = rest.rpartition(":")
    if bound in ("0.0.0.0", "[::]", "::"):
        endpoint = f"{scheme}://{host.rsplit(':', 1)[0]}:{port}"
    return endpoint
