"""`ga4kit emulator start`: run the local GA4 emulator until Ctrl-C or SIGTERM.

Only click is imported at module level; the emulator (grpc, Google's messages, pandas) loads when the
command runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import click

MAX_LISTED = 20  # properties printed at start-up; `ga4kit properties` lists them all


@click.group("emulator")
def emulator() -> None:
    """Run the local GA4 emulator (Admin and Data API over gRPC)."""


@emulator.command("start")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=int, show_default=True, help="Port to listen on (0 = a free port).")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None,
              help="Keep admin state and events here across restarts (default: in memory only).")
@click.option("--seed", default=42, type=int, show_default=True, help="Seed of the demo data and of faults.")
@click.option("--days", default=90, type=click.IntRange(1, 3650), show_default=True, help="Days of demo data.")
@click.option("--users", default=5000, type=click.IntRange(1, 10_000_000), show_default=True,
              help="Users in the demo shop.")
@click.option("--properties", default=1, type=click.IntRange(1, 1000), show_default=True,
              help="Demo properties (more than one for agency-style audits).")
@click.option("--events-file", type=click.Path(dir_okay=False), default=None,
              help="Import GA4 BigQuery-export-shaped events (NDJSON, CSV or Parquet).")
@click.option("--events-time-zone", default=None, metavar="TZ",
              help="Time zone (IANA, e.g. Europe/Berlin) of the property the --events-file was exported from: "
                   "its reports' days are local days in this zone. Default: inferred from event_date against "
                   "event_timestamp, else UTC. A file that disagrees with it is reported as a warning.")
@click.option("--late-data", is_flag=True,
              help="Simulate late-arriving data: each event arrives 0 to 72 hours after it happened (most within "
                   "hours, a few days later; the delay is drawn from --seed, the same event always alike), and "
                   "reports answer only the events that have arrived by the emulator's clock. The clock stands "
                   "at the start time, or at noon UTC of --today, so the last three days look incomplete as in "
                   "GA4 while older days are final.")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(0), help="Added latency on every call.")
@click.option("--fault", "faults", multiple=True, metavar="METHOD=STATUS:RATE[:after]",
              help="Inject errors into a method the emulator serves (its gRPC name, e.g. CreateKeyEvent, "
                   "RunReport; * = every method) at RATE (0 to 1), e.g. CreateKeyEvent=UNAVAILABLE:0.3 or "
                   "'*=INTERNAL:0.05'. With :after the call is carried out first and its answer lost, as when "
                   "GA4 commits a write but the reply never arrives: CreateKeyEvent=DEADLINE_EXCEEDED:1:after. "
                   "Repeatable.")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="Pretend today is this date.")
@click.option("--admin-quota", is_flag=True,
              help="Enforce GA4's Admin API quotas per minute (1,200 requests, 600 per user; 600 writes, 180 per user).")
@click.option("--no-demo", is_flag=True, help="Start empty instead of with the demo account.")
@click.option("--sheets-port", default=0, type=int, show_default=True,
              help="Port of the Google Sheets v4 stand-in (HTTP; 0 = a free port).")
def start(host: str, port: int, state_dir: str | None, seed: int, days: int, users: int, properties: int,
          events_file: str | None, events_time_zone: str | None, late_data: bool, latency_ms: float,
          faults: tuple[str, ...], today: str | None, admin_quota: bool, no_demo: bool, sheets_port: int) -> None:
    """Serve the demo account and print GA4KIT_EMULATOR_HOST=HOST:PORT; stop with Ctrl-C.

    Prints, as plain lines: the GA4KIT_EMULATOR_HOST=HOST:PORT line, a summary (properties, web streams,
    events and the days they cover), the id and name of each property it serves (what goals files and
    -p take), the GA4KIT_SHEETS_ENDPOINT=http://HOST:PORT line of its Google Sheets v4 stand-in (ga4kit
    finds it by itself through --emulator) with a demo spreadsheet to write to (-o sheets://ID/TAB), and
    how to use it.
    """
    import datetime
    import signal
    import threading

    from ga4kit.cli.common import CommandError

    def fail(message: str) -> None:
        raise CommandError(message)

    today_date = None
    if today:
        try:
            today_date = datetime.date.fromisoformat(today)
        except ValueError:
            fail(f"--today {today!r} is not a date; use YYYY-MM-DD, e.g. --today 2026-01-31.")

    if events_time_zone is not None:
        if not events_file:
            fail("--events-time-zone is the time zone of an --events-file; give the file too, e.g. "
                 "--events-file events.ndjson --events-time-zone Europe/Berlin.")
        _check_time_zone(events_time_zone, fail)

    from ga4kit.emulator import Emulator, Faults, parse_fault

    fault_rules = Faults(seed)
    served = sorted(Emulator(demo=False).method_names()) if faults else []
    for spec in faults:
        try:
            method = parse_fault(spec)[0]
            fault_rules.add(spec)
        except ValueError as exc:
            fail(f"--fault: {exc}.")
        if method != "*" and method not in served:
            guess = _did_you_mean(method, served)
            fail(f"--fault {spec!r}: the emulator serves no method {method!r}" + (
                f"; did you mean {guess!r}?" if guess else
                f". Use one of: {', '.join(served)}; or * for every method."))
    try:
        with _import_log_muted():  # the import's warnings are printed below, once, as Warning: lines
            emu = Emulator(state_dir=state_dir, host=host, port=port, seed=seed, demo=not no_demo, days=days,
                           users=users, properties=properties, events_file=events_file,
                           latency=latency_ms or None, faults=fault_rules, today=today_date,
                           admin_quota=admin_quota or None, events_time_zone=events_time_zone,
                           late_data=late_data or None, sheets_port=sheets_port)
        with _grpc_log_held_back() as held:
            emu.start()
        held.replay()  # only on success: the log line of a failed bind says what our error says better
    except (OSError, ValueError, RuntimeError) as exc:
        fail(f"the emulator could not start: {exc}")
    except Exception as exc:  # e.g. EmulatorError from a damaged state file: a message, not a traceback
        fail(f"the emulator could not start: {type(exc).__name__}: {exc}")

    # Before the first line is printed: whoever reads "Use it with" may stop us at once (SIGTERM).
    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for message in emu.import_warnings:
        click.echo(f"Warning: {message}", err=True)
    click.echo(f"GA4KIT_EMULATOR_HOST={emu.address}")
    click.echo(_summary(emu, days, generated=not events_file))
    for line in _property_lines(emu):
        click.echo(line)
    click.echo(f"GA4KIT_SHEETS_ENDPOINT={emu.sheets_endpoint}")
    if not no_demo and not emu.sheets.spreadsheets:
        emu.sheets.create("ga4kit demo")
    for sid, sheet in sorted(emu.sheets.spreadsheets.items())[:MAX_LISTED]:
        click.echo(f"  spreadsheet {sid}: {sheet.title} (owner {sheet.owner}): -o sheets://{sid}/ga4")
    if late_data:
        click.echo(f"Late data: events arrive up to 72 hours after they happen (seed {seed}); reports hold what "
                   f"has arrived by {emu.now:%Y-%m-%d %H:%M} UTC.")
    click.echo("Use it with: ga4kit --emulator " + emu.address + " ...  (Ctrl-C to stop)")

    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    click.echo("Emulator stopped.")


@contextlib.contextmanager
def _import_log_muted():
    """The emulator logs each import warning as well as keeping it in ``import_warnings``; without logging
    configured Python would print those records bare on stderr next to our Warning: lines."""
    import logging

    logger = logging.getLogger("ga4kit.emulator")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def _check_time_zone(name: str, fail) -> None:
    """Refuse a name that is not an IANA time zone, with an example, before anything is imported."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--events-time-zone {name!r} is not an IANA time zone; use a name such as Europe/Berlin, "
             "America/New_York or UTC.")


def _did_you_mean(word: str, options: list[str]) -> str | None:
    """The option ``word`` most likely meant, ignoring case and underscores (create_key_event), or None."""
    import difflib

    def norm(text: str) -> str:
        return text.replace("_", "").replace("-", "").lower()

    by_norm = {norm(o): o for o in options}
    if norm(word) in by_norm:
        return by_norm[norm(word)]
    close = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.6)
    return by_norm[close[0]] if close else None


class _HeldBack:
    def __init__(self) -> None:
        self.text = ""

    def replay(self) -> None:
        if self.text:
            sys.stderr.write(self.text)
            sys.stderr.flush()


@contextlib.contextmanager
def _grpc_log_held_back():
    """Hold back what gRPC's C core writes to stderr (file descriptor 2) meanwhile, e.g. its
    "Failed to add port to server" log line before our own error for a port in use."""
    held = _HeldBack()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr descriptor: nothing to hold back
        yield held
        return
    with tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        os.dup2(tmp.fileno(), 2)
        try:
            yield held
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            held.text = tmp.read().decode("utf-8", "replace")


def _summary(emu, days: int, *, generated: bool = True) -> str:
    pids = emu.admin.property_ids()
    streams = sum(len(emu.admin.property_info(p).stream_ids) for p in pids)
    where = f"state in {emu.state_dir}" if emu.state_dir else "in memory"
    return (f"{len(pids)} propert{'y' if len(pids) == 1 else 'ies'}, {streams} web stream"
            f"{'' if streams == 1 else 's'}, {_events(emu, pids, days, generated)} ({where})")


def _events(emu, pids: list[str], days: int, generated: bool) -> str:
    """How many events are stored and which days they cover."""
    if emu.store is None:
        return "no events"
    try:
        count = len(emu.store)
    except TypeError:
        return "events"
    if not count:
        return "no events"
    if generated and emu.demo_property_ids:
        # The demo was generated now for exactly the last `days` days (a session that began late on the
        # last day may end after midnight, which is no reason to say days + 1).
        return f"{count:,} events over the last {days} day{'' if days == 1 else 's'}"
    span = _date_span(emu, pids)
    if span is None:
        return f"{count:,} events"
    first, last = span
    n = (last - first).days + 1
    return f"{count:,} events over {n} day{'' if n == 1 else 's'}, {first} to {last}"


def _date_span(emu, pids: list[str]):
    """First and last local date with events over all properties (each in its own time zone)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    firsts, lasts = [], []
    for pid in pids:
        try:
            if not emu.store.count(pid):
                continue
            ts = emu.store.frame(pid)["ts"]
            tz = ZoneInfo(emu.admin.property_info(pid).time_zone or "UTC")
        except Exception:  # a summary line must never stop the emulator from serving
            continue
        for value, bucket in ((int(ts.min()), firsts), (int(ts.max()), lasts)):
            bucket.append(dt.datetime.fromtimestamp(value / 1e6, tz).date())
    if not firsts:
        return None
    return min(firsts), max(lasts)


def _property_lines(emu) -> list[str]:
    """One line per property served: its id (what goals files and -p take), name and account."""
    lines = []
    pids = emu.admin.property_ids()
    for pid in pids[:MAX_LISTED]:
        info = emu.admin.property_info(pid)
        account = emu.admin.get_account(info.account_id).get("display_name", "") if info.account_id else ""
        lines.append(f"  property {pid}: {info.display_name}" + (f" (account {info.account_id}: {account})"
                                                                  if info.account_id else ""))
    if len(pids) > MAX_LISTED:
        lines.append(f"  ... and {len(pids) - MAX_LISTED} more: ga4kit --emulator {emu.address} properties "
                     "lists them all")
    return lines
