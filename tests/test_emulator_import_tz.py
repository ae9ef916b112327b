"""Importing an events file keeps its days: the property's time zone comes from the option, or is inferred
from event_date against event_timestamp, with a warning when they disagree. Checked through Google's real
client against the file's own event_date, counted with the json module."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import grpc
import pytest
from google.analytics import data_v1beta as d
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events
from ga4kit.emulator.importer import EventFileWarning, import_file, infer_time_zone, read_events, write_events

TODAY = date(2026, 11, 22)


def _export(tmp_path, zone: str, ext: str = "ndjson", users: int = 400):
    """An export of a property in ``zone`` (its visitors' days and its event_date in that zone)."""
    frame = generate_events(seed=9, days=14, users=users, today=TODAY, time_zone=zone)
    return write_events(frame, tmp_path / f"events_{zone.replace('/', '_')}.{ext}", time_zone=zone)


def _file_cells(path) -> Counter:
    """(event_name, event_date) -> events, read from the NDJSON text itself."""
    cells = Counter()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            cells[(rec["event_name"], rec["event_date"])] += 1
    return cells


def _report_cells(emu, pid) -> Counter:
    client = d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(
        channel=grpc.insecure_channel(emu.address)))
    resp = client.run_report(d.RunReportRequest(
        property=f"properties/{pid}", dimensions=[d.Dimension(name="eventName"), d.Dimension(name="date")],
        metrics=[d.Metric(name="eventCount")], limit=100_000,
        date_ranges=[d.DateRange(start_date="2026-10-01", end_date="2026-12-31")]))
    assert resp.metadata.time_zone == emu.admin.property_info(pid).time_zone
    return Counter({(r.dimension_values[0].value, r.dimension_values[1].value): int(r.metric_values[0].value)
                    for r in resp.rows})


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_exports_round_trip_with_the_files_days(tmp_path, zone):
    path = _export(tmp_path, zone)
    with _no_warning():
        with Emulator(demo=False, today=TODAY, events_file=path) as emu:
            pid = emu.admin.property_ids()[0]
            assert emu.admin.property_info(pid).time_zone == zone  # inferred from event_date
            assert emu.import_warnings == []
            assert _report_cells(emu, pid) == _file_cells(path)  # every event x day cell


def test_the_time_zone_option_wins_and_a_disagreement_is_warned(tmp_path):
    path = _export(tmp_path, "Asia/Tokyo")
    with Emulator(demo=False, today=TODAY, events_file=path, events_time_zone="Asia/Tokyo") as emu:
        assert emu.import_warnings == []
        pid = emu.admin.property_ids()[0]
        assert _report_cells(emu, pid) == _file_cells(path)
    with Emulator(demo=False, today=TODAY, events_file=path, events_time_zone="Europe/Berlin") as emu:
        pid = emu.admin.property_ids()[0]
        assert emu.admin.property_info(pid).time_zone == "Europe/Berlin"
        assert len(emu.import_warnings) == 1 and "Asia/Tokyo" in emu.import_warnings[0]
        assert _report_cells(emu, pid) != _file_cells(path)  # asked for Berlin days, got them


def test_parquet_and_csv_exports_keep_their_days(tmp_path):
    for ext in ("parquet", "csv"):
        path = _export(tmp_path, "America/New_York", ext, users=200)
        ndjson = write_events(read_events(path, "America/New_York"), tmp_path / f"from_{ext}.ndjson",
                              time_zone="America/New_York")
        with Emulator(demo=False, today=TODAY, events_file=path) as emu:
            pid = emu.admin.property_ids()[0]
            assert emu.admin.property_info(pid).time_zone == "America/New_York"
            assert _report_cells(emu, pid) == _file_cells(ndjson)


def test_dates_without_timestamps_use_the_given_zone(tmp_path):
    p = tmp_path / "dates.ndjson"
    p.write_text("\n".join(json.dumps({"event_name": "page_view", "user_pseudo_id": f"u{i}",
                                       "event_date": f"202611{10 + i % 3:02d}"}) for i in range(9)))
    with Emulator(demo=False, today=TODAY, events_file=p, events_time_zone="Pacific/Auckland") as emu:
        pid = emu.admin.property_ids()[0]
        assert _report_cells(emu, pid) == _file_cells(p)


def test_infer_time_zone_and_import_into_an_existing_property(tmp_path):
    path = _export(tmp_path, "America/New_York", users=150)
    frame = read_events(path, "America/New_York")
    import numpy as np
    dates = np.array([json.loads(line)["event_date"] for line in open(path, encoding="utf-8")], dtype=object)
    ts = np.array([json.loads(line)["event_timestamp"] for line in open(path, encoding="utf-8")], dtype=np.int64)
    assert infer_time_zone(ts, dates) == ("America/New_York", 0)
    assert infer_time_zone(ts, np.array([""] * len(ts), dtype=object)) == (None, -1)
    from ga4kit.emulator.admin_state import AdminState
    from ga4kit.emulator.events import EventStore
    admin, store = AdminState(), EventStore()
    account = admin.create_account("A")
    pid = admin.create_property(account, "P", time_zone="Europe/Berlin")
    with pytest.warns(EventFileWarning, match="America/New_York"):
        import_file(admin, store, path, pid)
    assert admin.property_info(pid).time_zone == "Europe/Berlin"
    import_file(admin, store, path, pid, time_zone="America/New_York")  # the option updates the property
    assert admin.property_info(pid).time_zone == "America/New_York"
    assert store.count(pid) == 2 * len(frame)


class _no_warning:
    """Fail when an EventFileWarning is raised inside the block."""

    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings(record=True)
        self._caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        assert not [w for w in self._caught if issubclass(w.category, EventFileWarning)]
