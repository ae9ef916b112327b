"""What the checks of one property read, each fact fetched on first use and shared by every check.

Facts come from :mod:`ga4kit.properties` (Admin API, read-only) and from one batchRunReports request
(:mod:`ga4kit.audit.data`); with a goals file, the goals' rates come from
:func:`ga4kit.reporting.pull.pull_property` (one more request). A fact GA4 refuses or fails to give raises
:class:`~ga4kit.audit.registry.Unavailable` for every check that reads it (the failure is remembered, not
retried per check); only the property itself (GetProperty) failing fails the whole property.

Nothing here writes: the clients may carry the read-only scope.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from ga4kit import properties as props
from ga4kit.audit.data import REPORTS, AuditData, Report, build_batch, read_batch
from ga4kit.audit.registry import Unavailable
from ga4kit.errors import ApiError, Ga4kitError
from ga4kit.ids import property_name
from ga4kit.properties.read import enum_name


@dataclass(frozen=True)
class Target:
    """A property to audit: its id, a label, the account it belongs to (when known), the goals file that
    declares it (for the goal checks) and its settings when a listing already gave them."""

    id: str
    label: str | None = None
    account: str | None = None
    goals: Any = None  # ga4kit.config.GoalsConfig
    info: props.PropertyInfo | None = None


_STREAM_TYPES = {"WEB_DATA_STREAM": "web", "ANDROID_APP_DATA_STREAM": "android", "IOS_APP_DATA_STREAM": "ios"}


@dataclass(frozen=True)
class Stream:
    """A data stream as the checks use it: name (properties/P/dataStreams/S), kind, and the site's host."""

    name: str
    id: str
    kind: str  # web | android | ios
    display_name: str
    host: str | None  # the default URI's host name, for web streams that name one
    create_time: str | None = None

    @classmethod
    def of(cls, msg: Any) -> "Stream":
        kind = _STREAM_TYPES.get(enum_name(msg.type_), "web")
        host = None
        if kind == "web":
            uri = msg.web_stream_data.default_uri or ""
            host = (urlsplit(uri if "//" in uri else f"//{uri}").hostname or None) if uri else None
        pb = type(msg).pb(msg)
        created = pb.create_time.ToDatetime().isoformat() + "Z" if pb.HasField("create_time") else None
        return cls(str(msg.name), str(msg.name).rsplit("/", 1)[-1], kind, msg.display_name, host, created)


def site_domain(host: str) -> str:
    """The site a host name stands for: the host without a leading ``www.``."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def on_site(host: str, domains: list[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one."""
    h = site_domain(host)
    return any(h == d or h.endswith("." + d) for d in domains)


class Facts:
    """One property's facts (see the module docstring). ``calls`` counts the requests made per API."""

    def __init__(self, clients: Any, target: Target, *, today: dt.date | None = None,
                 now: dt.datetime | None = None):
        self.clients = clients
        self.target = target
        self.pid = target.id
        self.name = property_name(target.id)
        self._today, self._now = today, now
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.calls = {"admin": 0, "data": 0}
        self.tokens = 0

    # --- plumbing ---------------------------------------------------------------------------------
    def _fact(self, key: str, what: str, fetch: Callable[[], Any], api: str = "admin") -> Any:
        """``fetch()`` once; a refused or failed call becomes Unavailable, now and for later readers."""
        with self._lock:
            if key in self._cache:
                hit = self._cache[key]
                if isinstance(hit, Unavailable):
                    raise hit
                return hit
        try:
            value = fetch()
        except Unavailable as exc:
            value = exc
        except ApiError as exc:
            value = unavailable(what, exc)
        with self._lock:
            self._cache[key] = value
        if isinstance(value, Unavailable):
            raise value
        return value

    def derived(self, key: str, what: str, compute: Callable[[], Any]) -> Any:
        """A value worked out from facts, once per property however many checks read it (an Unavailable
        fact it reads is remembered as such, like the fact itself)."""
        return self._fact(f"derived:{key}", what, compute)

    def has(self, key: str) -> bool:
        """Whether the fact ``key`` was read already (or refused)."""
        with self._lock:
            return key in self._cache

    def _call(self, api: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        self.calls[api] += 1
        return fn(*args, **kwargs)

    # --- the property ------------------------------------------------------------------------------
    def info(self) -> props.PropertyInfo:
        """GetProperty (or the listing's copy). Raises ApiError: a property that cannot be read fails."""
        with self._lock:
            hit = self._cache.get("property")
        if hit is not None:
            return hit
        info = self.target.info or self._call("admin", props.get_property, self.clients, self.pid)
        with self._lock:
            self._cache["property"] = info
        return info

    @property
    def today(self) -> dt.date:
        """Today in the property's time zone (what GA4 resolves relative dates against)."""
        if self._today is not None:
            return self._today
        from ga4kit.reporting.periods import today_in

        return today_in(self.info().time_zone, self._now)

    @property
    def service_level(self) -> str:
        return "360" if "360" in self.info().service_level else "standard"

    def in_trash(self) -> bool:
        return self.info().in_trash

    # --- Admin API settings ------------------------------------------------------------------------
    def retention(self) -> Any:
        return self._fact("retention", "the data retention settings (GetDataRetentionSettings)",
                          lambda: self._call("admin", props.get_data_retention, self.clients, self.pid))

    def signals(self) -> Any:
        return self._fact("signals", "the Google signals settings (GetGoogleSignalsSettings, v1alpha)",
                          lambda: self._call("admin", props.get_google_signals, self.clients, self.pid))

    def streams(self) -> list[Stream]:
        return self._fact("streams", "the data streams (ListDataStreams)", lambda: [
            Stream.of(s) for s in self._call("admin", props.list_data_streams, self.clients, self.pid)])

    def web_streams(self) -> list[Stream]:
        return [s for s in self.streams() if s.kind == "web"]

    def site_domains(self) -> list[str]:
        """The sites of the web streams (their default URIs' hosts without www.), for hostname checks."""
        return sorted({site_domain(s.host) for s in self.web_streams() if s.host})

    def enhanced(self, stream: Stream) -> Any:
        return self._fact(f"enhanced:{stream.name}", f"the enhanced measurement settings of stream {stream.id} "
                          "(GetEnhancedMeasurementSettings, v1alpha)",
                          lambda: self._call("admin", props.get_enhanced_measurement, self.clients, stream.name))

    def redaction(self, stream: Stream) -> Any:
        return self._fact(f"redaction:{stream.name}", f"the data redaction settings of stream {stream.id} "
                          "(GetDataRedactionSettings, v1alpha)",
                          lambda: self._call("admin", props.get_data_redaction, self.clients, stream.name))

    def key_events(self) -> list[Any]:
        return self._fact("key_events", "the key events (ListKeyEvents)",
                          lambda: self._call("admin", props.list_key_events, self.clients, self.pid))

    def custom_dimensions(self) -> list[Any]:
        return self._fact("custom_dimensions", "the custom dimensions (ListCustomDimensions)",
                          lambda: self._call("admin", props.list_custom_dimensions, self.clients, self.pid))

    def custom_metrics(self) -> list[Any]:
        return self._fact("custom_metrics", "the custom metrics (ListCustomMetrics)",
                          lambda: self._call("admin", props.list_custom_metrics, self.clients, self.pid))

    def ads_links(self) -> list[Any]:
        return self._fact("ads_links", "the Google Ads links (ListGoogleAdsLinks)",
                          lambda: self._call("admin", props.list_google_ads_links, self.clients, self.pid))

    def bigquery_links(self) -> list[Any]:
        return self._fact("bigquery_links", "the BigQuery links (ListBigQueryLinks, v1alpha)",
                          lambda: self._call("admin", props.list_bigquery_links, self.clients, self.pid))

    # --- Data API ----------------------------------------------------------------------------------
    def data(self) -> AuditData:
        return self._fact("data", "the audit's reports (batchRunReports)", self._fetch_data, "data")

    def _fetch_data(self) -> AuditData:
        if self.in_trash():
            raise Unavailable("the property is in the trash: the Data API does not answer for it.")
        today = self.today
        answer = self._call("data", self.clients.data.batch_run_reports, request=build_batch(self.name, today))
        out = read_batch(answer, today)
        self.tokens += out.tokens
        return out

    def report(self, name: str, *, absence: bool = False) -> Report:
        """One of the audit's reports. ``absence``: the check concludes from rows that are missing, which
        thresholded data cannot support (GA4 withholds rows with few users), so it is then unavailable."""
        rep = self.data().reports[name]
        if absence and rep.thresholded:
            raise Unavailable("the report is thresholded (Google signals): GA4 withholds rows with few users, "
                              "so missing rows prove nothing.")
        return rep

    def goal_rates(self) -> Any:
        """The declared goals' rates over all users, the last 28 days and the 28 before (goal_summary rows:
        event, users, all_users, rate_over_all_users, users_prev, all_users_prev, rate_prev)."""
        return self._fact("goal_rates", "the goals' users (batchRunReports)", self._fetch_goal_rates, "data")

    def _fetch_goal_rates(self) -> Any:
        from ga4kit import chains
        from ga4kit.executor import Done
        from ga4kit.reporting.pull import PropertyMeta, PullSpec, assemble, pull_property

        config = self.target.goals
        if self.in_trash():
            raise Unavailable("the property is in the trash: the Data API does not answer for it.")
        info = self.info()
        today = self.today
        spec = PullSpec(events=tuple(g.event for g in config.goals), segments=(), grain="range",
                        start=today - dt.timedelta(days=28), end=today - dt.timedelta(days=1),
                        compare_previous=True, today=today)
        known = PropertyMeta(property=self.pid, name=info.display_name, time_zone=info.time_zone,
                             currency=info.currency)
        pulled = pull_property(spec, self.clients, self.pid, known=known)
        self.calls["data"] += pulled.meta.api_calls
        self.tokens += sum(int(q.get("consumed", 0)) for n, q in pulled.meta.quota.items() if n == "tokens_per_day")
        result = assemble(spec, config, [Done(self.pid, value=pulled)])
        current = chains.goal_summary(result.events, result.baseline, config, [])
        previous = chains.goal_summary(result.previous_events, result.previous_baseline, config, [])
        prev = previous.set_index("event")[["users", "all_users", "rate_over_all_users"]].rename(
            columns={"users": "users_prev", "all_users": "all_users_prev", "rate_over_all_users": "rate_prev"})
        out = current[["event", "goal_type", "users", "all_users", "rate_over_all_users"]].join(prev, on="event")
        return out, pulled.meta.subject_to_thresholding


def unavailable(what: str, exc: Ga4kitError) -> Unavailable:
    """The Unavailable of a failed read, saying why in a line."""
    status = getattr(exc, "status", None) or "ERROR"
    if status == "PERMISSION_DENIED":
        why = "permission denied"
    elif status == "UNIMPLEMENTED":
        why = "GA4 does not offer this method here"
    elif status == "RESOURCE_EXHAUSTED":
        why = "a GA4 quota is exhausted; run the audit again later"
    else:
        why = f"{status}: {exc.message}"
    return Unavailable(f"{what} could not be read ({why}).", status)
