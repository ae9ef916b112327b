"""`ga4kit emulator start`: run the local GA4 emulator until Ctrl-C or SIGTERM.

Only click is imported at module level; the emulator (grpc, Google's messages, pandas) loads when the
command runs.
"""

from __future__ import annotations

import click


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
@click.option("--latency-ms", default=0.0, type=click.FloatRange(0), help="Added latency on every call.")
@click.option("--fault", "faults", multiple=True, metavar="METHOD=STATUS:RATE",
              help="Inject errors, e.g. CreateKeyEvent=UNAVAILABLE:0.3 or '*=INTERNAL:0.05'. Repeatable.")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="Pretend today is this date.")
@click.option("--admin-quota", is_flag=True,
              help="Enforce GA4's Admin API quotas (1,200 requests, 600 writes, 180 writes per user per minute).")
@click.option("--no-demo", is_flag=True, help="Start empty instead of with the demo account.")
def start(host: str, port: int, state_dir: str | None, seed: int, days: int, users: int, properties: int,
          events_file: str | None, latency_ms: float, faults: tuple[str, ...], today: str | None,
          admin_quota: bool, no_demo: bool) -> None:
    """Serve the demo account and print GA4KIT_EMULATOR_HOST=HOST:PORT; stop with Ctrl-C."""
    import datetime
    import signal
    import threading

    def fail(message: str) -> None:
        click.echo(f"Error: {message}", err=True)
        raise SystemExit(1)

    today_date = None
    if today:
        try:
            today_date = datetime.date.fromisoformat(today)
        except ValueError:
            fail(f"--today {today!r} is not a date; use YYYY-MM-DD, e.g. --today 2026-01-31.")

    from ga4kit.emulator import Emulator, Faults

    fault_rules = Faults(seed)
    for spec in faults:
        try:
            fault_rules.add(spec)
        except ValueError as exc:
            fail(f"--fault: {exc}.")
    try:
        emu = Emulator(state_dir=state_dir, host=host, port=port, seed=seed, demo=not no_demo, days=days,
                       users=users, properties=properties, events_file=events_file,
                       latency=latency_ms or None, faults=fault_rules, today=today_date,
                       admin_quota=admin_quota or None)
        emu.start()
    except (OSError, ValueError, RuntimeError) as exc:
        fail(f"the emulator could not start: {exc}")
    except Exception as exc:  # e.g. EmulatorError from a damaged state file: a message, not a traceback
        fail(f"the emulator could not start: {type(exc).__name__}: {exc}")

    click.echo(f"GA4KIT_EMULATOR_HOST={emu.address}")
    click.echo(_summary(emu, days))
    click.echo("Use it with: ga4kit --emulator " + emu.address + " ...  (Ctrl-C to stop)")

    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    click.echo("Emulator stopped.")


def _summary(emu, days: int) -> str:
    pids = emu.admin.property_ids()
    streams = sum(len(emu.admin.property_info(p).stream_ids) for p in pids)
    events, span = 0, days
    if emu.store is not None:
        try:
            events = len(emu.store)
            stamps = [emu.store.frame(p)["ts"] for p in pids if emu.store.count(p)]
            if stamps:  # what is actually stored (a reloaded state dir may hold other days)
                first, last = min(int(t.min()) for t in stamps), max(int(t.max()) for t in stamps)
                span = max(1, -(-(last - first) // 86_400_000_000))
        except (TypeError, AttributeError, KeyError):
            pass
    where = f"state in {emu.state_dir}" if emu.state_dir else "in memory"
    data = "" if emu.data is not None else f"; Data API unavailable: {emu.data_unavailable}"
    return (f"{len(pids)} propert{'y' if len(pids) == 1 else 'ies'}, {streams} web stream"
            f"{'' if streams == 1 else 's'}, {events:,} events over {span} day{'' if span == 1 else 's'} ({where}){data}")
