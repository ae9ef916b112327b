"""`ga4kit pull`, `ga4kit chains` and `ga4kit report`: thin commands over ga4kit.reporting and ga4kit.chains."""

from __future__ import annotations

import sys

import click

from ga4kit.cli.common import handle_errors, load_config, settings

GRAINS = ("day", "week", "month", "range")


def _report_options(fn):
    """Options shared by every reporting command."""
    opts = [
        click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False),
                     help="Goals file (YAML)."),
        click.option("-p", "--property", "properties", multiple=True, metavar="ID",
                     help="Property id (repeatable); default: the goals file's properties."),
        click.option("--start", help="First day: YYYY-MM-DD, NdaysAgo, yesterday (default: the goals file's "
                                     "report.range, else 28daysAgo)."),
        click.option("--end", help="Last day (default: the goals file's report.range, else yesterday)."),
        click.option("-s", "--segment", "segments", multiple=True, metavar="DIMENSION",
                     help="Segment dimension (repeatable), e.g. sessionDefaultChannelGroup, deviceCategory. "
                          "Default: the goals file's report.segments."),
        click.option("--no-segments", is_flag=True, help="Report over all traffic only."),
        click.option("-g", "--grain", type=click.Choice(GRAINS), help="Period grain (default: report.grain, "
                                                                       "else the whole range)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _segments(segments: tuple[str, ...], no_segments: bool):
    if no_segments:
        return ()
    return tuple(segments) if segments else None


def _properties(properties: tuple[str, ...]):
    from ga4kit.ids import property_id

    return [property_id(p) for p in properties] or None


class _Progress:
    """A progress bar on stderr when several properties are pulled and stderr is a terminal."""

    def __init__(self, total: int, label: str):
        self.bar = None
        if total > 1 and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def __call__(self, _pid: str) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _report_errors(errors: dict) -> None:
    for pid, err in errors.items():
        click.echo(f"Error: property {pid}: {err}", err=True)


@click.command("pull")
@_report_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file; the extension picks the format: .csv, .xlsx, .json, .ndjson (or .jsonl: one "
                   "JSON object per line) or .parquet. CSV, NDJSON and Parquet write one file per table "
                   "(NAME.events.csv, NAME.baseline.csv).")
@click.option("--merge", is_flag=True,
              help="Merge into an existing output with the same segment columns: rows of the pulled window "
                   "are replaced (late GA4 data is picked up), nothing is duplicated, rows outside the window "
                   "are kept; week and month windows are widened to whole periods.")
@click.option("--compare", type=click.Choice(["none", "previous"]), default="none", show_default=True,
              help="Also pull the previous period of the same length (tables previous_events/baseline).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON envelope (see below) instead of text.")
@click.pass_context
@handle_errors
def pull_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, output, merge, compare,
             as_json):
    """Pull goal event counts and users from GA4 into a file.

    Writes two tables: `events` (property, property_name, period, segments, event, goal type and kind,
    event_count, users, value, currency, key_events) and `baseline` (property, property_name, period,
    segments, users, sessions). property_name is the property's display name in GA4 (else the goals
    file's label); value is rounded to the currency's minor unit; key_events is an integer when GA4
    answers whole numbers (it does for counts). Rows over all traffic hold "(all)" in the segment columns.
    Users come from GA4 at the reported grain and are never summed. A property given twice is pulled once.

    --merge: schedule it with a start a few days back (e.g. --start 7daysAgo): GA4 keeps changing the
    last 24-72 hours, and re-runs replace those rows instead of duplicating them. Rows are matched on
    property, period, every segment column and event; rows of a re-pulled property whose period overlaps
    its window are replaced, everything else is kept. The file must have the same segment columns as the
    pull (else the merge is refused, nothing is pulled). Week and month pulls are widened to whole periods
    (start back to the Monday or the 1st; end forward to the period's last day when that is past), so a
    file never holds two versions of one period. Concurrent merges into one file wait for each other.

    Text cells are never formulas: XLSX stores them as text; CSV prefixes text starting with = + - @,
    tab or CR with a single quote (OWASP), which a merge strips again when it reads the file back.

    --json prints {"format_version": 2, "command": "pull", "ok", "exit_code", "data", "errors",
    "warnings"}: data = {properties: {id: {name, time_zone, currency, start, end, sampled, ...}}, start,
    end, grain, segments, merge, rows: {table: n}, files: [...]} (null when nothing was written);
    errors = [{property, status, message, hint}].

    Exit codes: 0 every property was pulled and written; 3 some properties failed, the others were
    written; 1 nothing was written (every property failed, or an error); 130 interrupted.
    """
    from ga4kit import outputs
    from ga4kit.cli.common import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, Progress, echo_envelope, error_entry
    from ga4kit.reporting.pull import property_ids, pull

    cfg = load_config(config_path)
    names = ["events", "baseline"] + (["previous_events", "previous_baseline"] if compare == "previous" else [])
    outputs.check_output(output, names)  # before any API call: a bad path must not cost quota
    segs = _segments(segments, no_segments)
    pids = property_ids(cfg, _properties(properties))
    seg_columns = tuple(cfg.report.segments if segs is None else segs)
    keys = _merge_keys(seg_columns, names)
    if merge:
        _check_mergeable(output, seg_columns, keys)  # before any API call too
    s = settings(ctx)
    with Progress(len(pids), "Pulling", enabled=not as_json, quiet=s.quiet) as bar, s.clients() as clients:
        result = pull(cfg, clients, properties=pids, start=start, end=end, segments=segs, grain=grain,
                      compare_previous=compare == "previous", progress=bar, whole_periods=merge)
    frames = {"events": result.events, "baseline": result.baseline}
    if compare == "previous":
        frames["previous_events"] = result.previous_events
        frames["previous_baseline"] = result.previous_baseline
    written = []
    if result.metadata:
        merge_args = {}
        if merge:
            previous = result.windows(previous=True)
            merge_args = dict(merge_on=keys, replace_window=result.windows(),
                              frame_windows={n: previous for n in names if n.startswith("previous_")})
        written = outputs.write_frames(output, frames, note=bar.note, **merge_args)
    code = EXIT_ERROR if not written else EXIT_PARTIAL if result.errors else EXIT_OK
    summary = _pull_summary(result, frames, written, merge) if written else None
    if as_json:
        echo_envelope("pull", summary, exit_code=code,
                      errors=[error_entry(err, property=pid) for pid, err in result.errors.items()])
    _report_errors(result.errors)
    if summary and not as_json:
        _echo_pull(result, summary, written, merge)
    sys.exit(code)


def _merge_keys(segments, names) -> dict[str, list[str]]:
    keys = ["property", "period", *segments]
    return {n: keys + (["event"] if n.endswith("events") else []) for n in names}


def _check_mergeable(output, segments, keys) -> None:
    """Refuse a merge into a file whose tables have other columns (other segments) before pulling."""
    from ga4kit import outputs
    from ga4kit.reporting.pull import baseline_columns, event_columns

    for name, columns in outputs.read_columns(output, list(keys)).items():
        if name in keys:
            new = event_columns(segments) if name.endswith("events") else baseline_columns(segments)
            outputs.check_merge_columns(columns, new, keys[name], what=f"the {name} table of {output}")


def _pull_summary(result, frames, written, merge) -> dict:
    windows = result.windows()
    return {
        "properties": {pid: m.as_dict() for pid, m in result.metadata.items()},
        "start": str(min(w[0] for w in windows.values())) if windows else None,
        "end": str(max(w[1] for w in windows.values())) if windows else None,
        "grain": result.grain, "segments": list(result.segments), "merge": merge,
        "rows": {name: int(len(f)) for name, f in frames.items() if f is not None},
        "files": [str(p) for p in written],
    }


def _echo_pull(result, summary, written, merge) -> None:
    n = len(result.metadata)
    widened = " (whole periods for --merge)" if merge and result.grain in ("week", "month") else ""
    click.echo(f"Pulled {n} propert{'y' if n == 1 else 'ies'}, {summary['start']} to {summary['end']} "
               f"({result.grain}){widened}: {summary['rows']['events']} event rows, "
               f"{summary['rows']['baseline']} baseline rows.")
    for p in written:
        click.echo(f"Wrote {p}")
    if result.errors:
        click.echo(f"{len(result.errors)} of {n + len(result.errors)} properties failed (see above); the "
                   "others were written. Run again for the failed ones.", err=True)
    for pid, meta in result.metadata.items():
        if meta.subject_to_thresholding or meta.sampled:
            click.echo(f"Note: property {pid}: data is "
                       f"{'thresholded' if meta.subject_to_thresholding else 'sampled'}.", err=True)


def _analyse(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact):
    from ga4kit.reporting.analysis import analyse

    cfg = load_config(config_path)
    if not cfg.chains and exact:
        click.echo("Note: the goals file declares no chains; --exact has nothing to do.", err=True)
    s = settings(ctx)
    props = _properties(properties)
    progress = _Progress(len(props or cfg.properties), "Pulling")
    with s.clients() as clients:
        try:
            return analyse(cfg, clients, properties=props, start=start, end=end,
                           segments=_segments(segments, no_segments), grain=grain,
                           compare_previous=compare == "previous", exact=exact, progress=progress)
        finally:
            progress.close()


@click.command("chains")
@_report_options
@click.option("--compare", type=click.Choice(["previous", "none"]), default="previous", show_default=True,
              help="Compare with the previous period of the same length.")
@click.option("--exact", is_flag=True, help="Add the closed, in-order funnel (runFunnelReport) beside the "
                                            "open counts (users_exact, rate_exact; by the first segment).")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table",
              show_default=True, help="Output format.")
@click.option("--goals/--no-goals", "show_goals", default=True, help="Also show the goal summary.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of the terminal "
                                                                      "(format from --format).")
@click.pass_context
@handle_errors
def chains_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact, fmt,
               show_goals, output):
    """Compute micro-to-macro chains per segment and period.

    For every chain in the goals file: users and events per step, step-to-step rate, rate from the first
    step, drop-off, each step's rate over all users, the micro-to-macro ratio, and the change against the
    previous period. Counts are open (users per event, order unknown); --exact adds the in-order funnel.
    Flags (broken tracking, steps out of sequence, thresholded or sampled data) follow the tables.
    """
    from ga4kit.render import text

    if output:
        from ga4kit.outputs import check_writable

        check_writable(output)  # before any API call
    a = _analyse(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact)
    _report_errors(a.errors)
    if fmt == "json":
        import json

        from ga4kit.outputs import frame_to_json

        doc = {"chains": json.loads(frame_to_json(a.chains)), "flags": json.loads(frame_to_json(a.flags)),
               "meta": a.meta()}
        if show_goals:
            doc["goals"] = json.loads(frame_to_json(a.goals))
        body = json.dumps(doc, indent=1, default=str) + "\n"
    else:
        parts = [("Chains", text.view(a.chains, a.segments, "chains"))]
        if show_goals:
            parts.append(("Goals", text.view(a.goals, a.segments, "goals")))
        if len(a.flags):
            parts.append(("Flags", text.view(a.flags, a.segments, "flags")))
        if output is None and fmt == "table":
            for title, frame in parts:
                text.print_frame(frame, "table", title=title)
            if not len(a.flags):
                click.echo("No flags: the data looks consistent.")
            sys.exit(1 if a.errors else 0)
        body = "\n".join(text.render(frame, fmt, title=title) for title, frame in parts)
    if output:
        from ga4kit.outputs import write_text

        write_text(output, body)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(body, nl=False)
    sys.exit(1 if a.errors else 0)


@click.command("report")
@_report_options
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
@click.option("--compare", type=click.Choice(["previous", "none"]), default="previous", show_default=True,
              help="Compare with the previous period of the same length.")
@click.option("--exact", is_flag=True, help="Add the closed, in-order funnel beside the open counts.")
@click.pass_context
@handle_errors
def report_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, output, compare, exact):
    """Write one self-contained HTML report (readable offline).

    A funnel chart per chain and segment, a trend line per goal, the flags, and the data's caveats
    (thresholding, sampling). No external URL: the page can be mailed or archived as it is.
    """
    from ga4kit.outputs import check_writable
    from ga4kit.render.html import write_report

    if not output.lower().endswith((".html", ".htm")):
        from ga4kit.errors import OutputError

        raise OutputError(f"Cannot write {output}: the report is an HTML page.",
                          "Name the file with .html, e.g. -o report.html.")
    check_writable(output)  # before any API call: a bad path must not cost quota
    a = _analyse(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact)
    _report_errors(a.errors)
    path = write_report(output, a.chains, a.goals, a.flags, a.trend, a.meta(), segments=a.segments)
    click.echo(f"Wrote {path} ({len(a.chains)} chain rows, {len(a.flags)} flags)")
    sys.exit(1 if a.errors else 0)
