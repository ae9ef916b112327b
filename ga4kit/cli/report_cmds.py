"""`ga4kit pull`, `ga4kit chains` and `ga4kit report`: thin commands over ga4kit.reporting and ga4kit.chains."""

from __future__ import annotations

import click

from ga4kit.cli.common import concurrency_option, goals_file, handle_errors, load_config, settings
from ga4kit.constants import COMPARISONS, GRAINS
from ga4kit.render.formats import FORMATS
from ga4kit.shard import OPTION_HELP as SHARD_HELP


def _report_options(fn):
    """Options shared by every reporting command (the goals file comes from common.goals_file)."""
    opts = [
        click.option("-p", "--property", "properties", multiple=True, metavar="ID",
                     help="Property id (repeatable); default: the goals file's properties."),
        click.option("--start", help="First day: YYYY-MM-DD, NdaysAgo, yesterday or today (default: the goals "
                                     "file's report.range, else 28daysAgo)."),
        click.option("--end", help="Last day (default: the goals file's report.range, else yesterday: today's "
                                   "data is still coming in, so a range that includes today is partial)."),
        click.option("-s", "--segment", "segments", multiple=True, metavar="DIMENSION",
                     help="Segment dimension (repeatable), e.g. sessionDefaultChannelGroup, deviceCategory. "
                          "Default: the goals file's report.segments."),
        click.option("--no-segments", is_flag=True, help="Report over all traffic only."),
        click.option("-g", "--grain", type=click.Choice(GRAINS), help="Period grain (default: report.grain, "
                                                                       "else the whole range)."),
        concurrency_option,
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return goals_file(fn)


def _segments(segments: tuple[str, ...], no_segments: bool):
    if no_segments and segments:
        raise click.UsageError(f"--no-segments and --segment {' '.join(segments)} contradict each other. Pass "
                               "--segment DIMENSION to report by that dimension, or --no-segments alone to report "
                               "over all traffic only.")
    if no_segments:
        return ()
    return tuple(segments) if segments else None


def _report_errors(errors: dict) -> None:
    for pid, err in errors.items():
        click.echo(f"Error: property {pid}: {err}", err=True)


@click.command("pull")
@_report_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file; the extension picks the format: .csv, .xlsx, .json, .ndjson (or .jsonl: one "
                   "JSON object per line) or .parquet. CSV, NDJSON and Parquet write one file per table "
                   "(NAME.events.csv, NAME.baseline.csv). Or a Google Sheet: sheets://SPREADSHEET_ID/TAB (or the "
                   "spreadsheet's address) writes tabs TAB.events and TAB.baseline and a metadata tab "
                   "TAB.ga4kit (see docs/sheets.md).")
@click.option("--merge", is_flag=True,
              help="Merge into an existing output with the same segment columns: rows of the pulled window "
                   "are replaced (late GA4 data is picked up), nothing is duplicated, rows outside the window "
                   "are kept; week and month windows are widened to whole periods.")
@click.option("--incremental", is_flag=True,
              help="Scheduled runs: pull each property from the last day the output holds minus --lookback, "
                   "up to the end (yesterday by default), and merge (implies --merge). A property the output "
                   "does not hold yet pulls the configured range; missed runs leave no gap. Needs a day, week "
                   "or month grain.")
@click.option("--lookback", type=click.IntRange(0, 3650), metavar="DAYS",
              help="With --incremental: days before the last day held that are pulled again, because GA4 "
                   "keeps changing the last 24-72 hours. Default 3.")
@click.option("--table-per-property", is_flag=True,
              help="Each property's rows in tables of their own (events.ID and baseline.ID: a sheet each in "
                   "XLSX, NAME.events.ID.csv beside a CSV) instead of one table with a property column.")
@click.option("--shard", "shard_text", metavar="I/N", help=SHARD_HELP)
@click.option("--max-quota-share", type=float, metavar="F",
              help="Stop a property before this run uses more than F (0-1) of its hourly GA4 tokens, leaving "
                   "the rest to other tools; a property stopped so is 'skipped for quota' (exit 3).")
@click.option("-q", "--quiet", "quiet_flag", is_flag=True,
              help="Print only the one-line run summary (stdout) and errors (stderr), as ga4kit -q does.")
@click.option("--compare", type=click.Choice(COMPARISONS), default="none", show_default=True,
              help="Also pull the previous period of the same length (tables previous_events/baseline).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON envelope (see below) instead of text.")
@click.pass_context
@handle_errors
def pull_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, concurrency, output, merge,
             incremental, lookback, table_per_property, shard_text, max_quota_share, quiet_flag, compare, as_json):
    """Pull goal event counts and users from GA4 into a file or a Google Sheet.

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
    Every pull also records which days of each property the output holds: in a hidden
    .NAME.ga4kit-state.json beside a file, in the metadata tab TAB.ga4kit of a sheet.

    --incremental (for cron, CI, Cloud Run, Airflow; see docs/scheduling.md): the state stored in the
    output says where each property's data ends; each run pulls from there minus --lookback days (3), week
    and month grains from that period's first day, and merges. No state, or a property it does not know:
    the configured range (--start/--end, else the goals file's report.range).

    --shard I/N takes shard I (0-based) of N, by a hash of the property id; without it a Cloud Run job with
    several tasks shards by CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT. Shards may share one output.

    --max-quota-share F: before each request, a property stops when this run's tokens for it plus the
    request's estimated cost would pass F of its hourly tokens (40,000; 400,000 on 360). The first request
    is priced by a one-row probe report; later ones by the previous request's cost.

    Text cells are never formulas: XLSX stores them as text; CSV prefixes text starting with = + - @,
    tab or CR with a single quote (OWASP), which a merge strips again when it reads the file back.

    Every run ends with one line on stdout, e.g. `ga4kit pull: 12 properties, 2026-11-19..2026-11-22
    (lookback 3), 4,210 rows written to goals.xlsx, 11 ok, 1 failed, quota 1,234 tokens used, 38,766 left
    (lowest property)`; with --quiet it is all that stdout gets (errors go to stderr).

    --json prints {"format_version": 2, "command": "pull", "ok", "exit_code", "data", "errors",
    "warnings"}: data = {properties: {id: {name, time_zone, currency, start, end, sampled, tokens_used,
    tokens_left, ...}}, start, end, grain, segments, merge, rows: {table: n}, files: [...], run: {the
    summary line's facts and the line itself}, incremental: {lookback, starts: {id: {start, from,
    held_last}}} or null} (data is null when nothing was written); errors = [{property, status, message,
    hint}] (status QUOTA_SHARE_REACHED for a property skipped for quota).

    Exit codes: 0 every property was pulled and written (or the shard had no property); 3 some properties
    failed or were skipped for quota, the others were written; 1 nothing was written (every property failed,
    or an error); 130 interrupted.
    """
    from ga4kit import destinations, shard as sharding
    from ga4kit.cli.common import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, Progress, echo_envelope, error_entry
    from ga4kit.properties import property_ids
    from ga4kit.reporting import incremental as inc
    from ga4kit.reporting.pull import pull, spec_for
    from ga4kit.reporting.quota_share import QuotaShareReached, check_share

    if lookback is not None and not incremental:
        raise click.UsageError(f"--lookback {lookback} only applies to --incremental runs; add --incremental, or "
                               "drop --lookback (a plain pull takes --start and --end).")
    cfg = load_config(config_path)
    segs = _segments(segments, no_segments)
    previous = compare == "previous"
    if incremental:
        merge = True
        lookback = inc.DEFAULT_LOOKBACK if lookback is None else lookback
        inc.check_options(spec_for(cfg, start=start, end=end, segments=segs, grain=grain).grain,
                          compare_previous=previous, lookback=lookback)
    if max_quota_share is not None:
        check_share(max_quota_share)
    shard = sharding.resolve(shard_text)
    every = property_ids(cfg, properties)
    pids = shard.select(every) if shard else every
    s = settings(ctx)
    dest = s.destination(output)
    quiet = quiet_flag or s.quiet
    # Before any API call: a bad path, or a merge the file's columns would refuse, must not cost quota.
    destinations.check_pull(dest, cfg, segments=segs, compare_previous=previous, merge=merge, properties=pids,
                            table_per_property=table_per_property)
    run = None
    if not pids:  # more shards than properties: this one has nothing to do, which is fine
        from ga4kit.reporting.pull import PullResult

        result = PullResult(None, None, tuple(segs or ()), grain or cfg.report.grain, None, None)
        written, frames = [], {}
    else:
        with Progress(len(pids), "Pulling", enabled=not as_json, quiet=quiet) as bar, s.clients() as clients:
            if incremental:
                run = inc.pull_incremental(cfg, clients, dest, properties=pids, lookback=lookback, start=start,
                                           end=end, segments=segs, grain=grain,
                                           table_per_property=table_per_property, max_quota_share=max_quota_share,
                                           progress=bar, note=bar.note, concurrency=concurrency)
                result, written = run.result, run.written
            else:
                result = pull(cfg, clients, properties=pids, start=start, end=end, segments=segs, grain=grain,
                              compare_previous=previous, progress=bar, whole_periods=merge,
                              concurrency=concurrency, max_quota_share=max_quota_share)
        if not incremental:
            written = destinations.write_pull(result, dest, merge=merge, note=bar.note,
                                              table_per_property=table_per_property)
        frames = destinations.pull_frames(result, table_per_property=table_per_property)
    code = EXIT_ERROR if pids and not written else EXIT_PARTIAL if result.errors else EXIT_OK
    facts = inc.summarize(result, written, target=output, properties=len(pids), frames=frames,
                          starts=run.starts if run else None, lookback=lookback if incremental else None,
                          shard=shard, of=len(every) if shard else None)
    summary = None
    if written or not pids:
        summary = _pull_summary(result, frames, written, merge)
        summary["run"] = facts.as_dict()
        summary["incremental"] = ({"lookback": lookback, "starts": {p: st.as_dict() for p, st in run.starts.items()}}
                                  if run else None)
    if as_json:
        echo_envelope("pull", summary, exit_code=code,
                      errors=[error_entry(err, property=pid) for pid, err in result.errors.items()])
        return code
    for pid, err in result.errors.items():
        what = "" if isinstance(err, QuotaShareReached) else f"property {pid}: "
        click.echo(f"Error: {what}{err}", err=True)
    if summary and pids and not quiet:
        _echo_pull(result, summary, written, merge)
    click.echo(facts.line())
    return code


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
    rows = summary["rows"]
    events = sum(v for k, v in rows.items() if k.split(".")[0] == "events")
    baseline = sum(v for k, v in rows.items() if k.split(".")[0] == "baseline")
    click.echo(f"Pulled {n} propert{'y' if n == 1 else 'ies'}, {summary['start']} to {summary['end']} "
               f"({result.grain}){widened}: {events} event rows, {baseline} baseline rows.")
    for p in written:
        click.echo(f"Wrote {p}")
    if result.errors:
        click.echo(f"{len(result.errors)} of {n + len(result.errors)} properties failed (see above); the "
                   "others were written. Run again for the failed ones.", err=True)
    for pid, meta in result.metadata.items():
        if meta.subject_to_thresholding or meta.sampled:
            click.echo(f"Note: property {pid}: data is "
                       f"{'thresholded' if meta.subject_to_thresholding else 'sampled'}.", err=True)


EXIT_CODES_HELP = ("Exit codes: 0 done; 1 error (nothing written); 3 partial: some property failed, or part "
                   "of the result is missing (the day-by-day history, closed funnels of --exact); what was "
                   "computed is shown and written, and the flags and stderr say what is missing. Flags about "
                   "the data (even errors such as no_data) do not change the exit code: the command did its "
                   "job; scripts read them from --json (data.flags, severity).")


def _analyse(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact, *,
             as_json=False, concurrency=10):
    from ga4kit.cli.common import Progress
    from ga4kit.properties import property_ids
    from ga4kit.reporting.analysis import analyse

    segs = _segments(segments, no_segments)  # a contradiction must not cost an API call
    cfg = load_config(config_path)
    if not cfg.chains and exact:
        click.echo("Note: the goals file declares no chains; --exact has nothing to do.", err=True)
    s = settings(ctx)
    pids = property_ids(cfg, properties)
    with s.clients() as clients, Progress(len(pids), "Pulling", enabled=not as_json, quiet=s.quiet) as progress:
        return analyse(cfg, clients, properties=pids, start=start, end=end, segments=segs, grain=grain,
                       compare_previous=compare == "previous", exact=exact, progress=progress,
                       concurrency=concurrency)


def _say_problems(a) -> None:
    """Failed properties and missing parts on stderr: never drop data without saying so."""
    _report_errors(a.errors)
    for item in a.incomplete:
        click.echo(f"Warning: property {item.property}: {item.message}", err=True)


def _say_data_errors(a, *, err: bool = False) -> None:
    """The loudest flags once more, below the tables, so nobody reads the numbers without them."""
    # (not_pulled is a failure of the command, already said on stderr.)
    bad = a.flags[(a.flags["severity"] == "error") & (a.flags["flag"] != "not_pulled")] if len(a.flags) else a.flags
    if not len(bad):
        return
    kinds = ", ".join(f"{k} ({n})" if n > 1 else k for k, n in bad["flag"].value_counts(sort=False).items())
    click.echo(f"Data errors: {kinds}. Read the flags before using these numbers.", err=err)


def _envelope_problems(a) -> tuple[list, list]:
    from ga4kit.cli.common import error_entry

    errors = [error_entry(err, property=pid) for pid, err in a.errors.items()]
    warnings = []
    for item in a.incomplete:
        entry = error_entry(item.error, property=item.property)
        entry["message"] = item.message
        errors.append(entry)
        warnings.append({"property": item.property, "message": item.message})
    return errors, warnings


def _records(frame) -> list:
    import json

    from ga4kit.serialize import frame_to_json

    return json.loads(frame_to_json(frame))


def _exit_code(a) -> int:
    from ga4kit.cli.common import EXIT_OK, EXIT_PARTIAL

    return EXIT_PARTIAL if a.partial else EXIT_OK


@click.command("chains", epilog=EXIT_CODES_HELP)
@_report_options
@click.option("--compare", type=click.Choice(COMPARISONS), default="previous", show_default=True,
              help="Compare with the previous period of the same length.")
@click.option("--exact", is_flag=True, help="Add the closed, in-order funnel (runFunnelReport) beside the "
                                            "open counts (users_exact, rate_exact, macro_share_exact; by the "
                                            "first segment).")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS),
              default="table", show_default=True,
              help="Output format. csv and ndjson hold one table: the chains (goals and flags go to files with "
                   "-o); json is one document with every table; table and markdown show every table.")
@click.option("--goals/--no-goals", "show_goals", default=True, help="Also show the goal summary.")
@click.option("-o", "--output", type=click.Path(), help="Write to files instead of the terminal (format from "
              "--format). A directory (existing, or ending in /) gets chains.csv, goals.csv and flags.csv; a file "
              "NAME.csv gets the chains, with NAME.goals.csv and NAME.flags.csv beside it.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON envelope ({format_version, command, ok, exit_code, data: {chains, goals, "
                   "flags, meta, files}, errors, warnings}) instead of tables.")
@click.pass_context
@handle_errors
def chains_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, concurrency, compare, exact,
               fmt, show_goals, output, as_json):
    """Compute micro-to-macro chains per segment and period.

    For every chain in the goals file: users and events per step, step-to-step rate ("of prev"), rate from
    the first step ("of first"), drop-off ("drop"), each step's rate over all users ("of all"), macro users
    per step user ("macro/step": the macro goal's users divided by this step's users; counts are open, users
    need not do the steps in order, so it can pass 100% and drop can be negative), and the change against
    the previous period. --exact adds the in-order funnel: "exact" users, "exact rate" and "macro share",
    the share of this step's in-order users who reached the macro goal. Flags (no data, goals that never
    fire, broken tracking, steps out of sequence, partial periods, thresholded or sampled data) follow
    the tables.

    A period that includes today or later days is partial (marked so) and gets no change. Ranges end
    yesterday by default; pass --end today to include today.

    Machine output rounds money to the currency's minor unit and ratios to 6 decimals.
    """
    from ga4kit.render import bundle, text
    from ga4kit.render.numbers import round_frame

    if as_json and fmt != "table" and not output:
        raise click.UsageError(f"--json prints the JSON envelope; -f {fmt} would print a second document. Use "
                               f"-f {fmt} alone, or --json with -o DIR to also write {fmt} files.")
    names = ["chains", *(["goals"] if show_goals else []), "flags"]
    if output:
        bundle.check(output, fmt, names)  # before any API call: a bad path must not cost quota
    a = _analyse(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact,
                 as_json=as_json, concurrency=concurrency)
    code = _exit_code(a)
    cur = a.currencies
    frames = {"chains": round_frame(a.chains, cur), "goals": round_frame(a.goals, cur), "flags": a.flags}
    frames = {n: frames[n] for n in names}
    kw = {"meta": a.meta(), "segments": a.segments, "currencies": cur}
    written = bundle.write(output, frames, fmt, **kw) if output else []
    if as_json:
        from ga4kit.cli.common import echo_envelope

        errors, warnings = _envelope_problems(a)
        data = {n: _records(f) for n, f in frames.items()}
        data.update(meta=a.meta(), files=[str(p) for p in written])
        _say_problems(a)
        echo_envelope("chains", data, exit_code=code, errors=errors, warnings=warnings)
        return code
    _say_problems(a)
    if written:
        for p in written:
            click.echo(f"Wrote {p}", err=True)
        _say_data_errors(a, err=True)
    elif fmt == "table":
        from ga4kit.cli.common import console

        out = console()
        for name, frame in frames.items():
            if name == "flags" and not len(frame):
                continue
            text.print_frame(text.view(frame, a.segments, name), "table", title=bundle.TITLES[name], console=out,
                             segments=a.segments, currencies=cur)
        if not len(a.flags):
            click.echo("No flags: the data looks consistent.")
        _say_data_errors(a)
    else:
        click.echo(bundle.document(frames, fmt, **kw), nl=False)
        _say_data_errors(a, err=True)
    return code


@click.command("report", epilog=EXIT_CODES_HELP)
@_report_options
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
@click.option("--compare", type=click.Choice(COMPARISONS), default="previous", show_default=True,
              help="Compare with the previous period of the same length.")
@click.option("--exact", is_flag=True, help="Add the closed, in-order funnel beside the open counts.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON envelope (data: {file, chain_rows, flags, meta}) instead of text.")
@click.pass_context
@handle_errors
def report_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, concurrency, output, compare,
               exact, as_json):
    """Write one self-contained HTML report (readable offline).

    A funnel chart per chain and segment, a trend line per goal, the flags, and the data's caveats
    (thresholding, sampling, partial periods, missing parts). No external URL: the page can be mailed or
    archived as it is.
    """
    from ga4kit.atomic import check_writable
    from ga4kit.render.html import write_report
    from ga4kit.render.numbers import round_frame

    if not output.lower().endswith((".html", ".htm")):
        from ga4kit.errors import OutputError

        raise OutputError(f"Cannot write {output}: the report is an HTML page.",
                          "Name the file with .html, e.g. -o report.html.")
    check_writable(output)  # before any API call: a bad path must not cost quota
    a = _analyse(ctx, config_path, properties, start, end, segments, no_segments, grain, compare, exact,
                 as_json=as_json, concurrency=concurrency)
    code = _exit_code(a)
    path = write_report(output, a.chains, round_frame(a.goals, a.currencies), a.flags, a.trend, a.meta(),
                        segments=a.segments)
    _say_problems(a)
    if as_json:
        from ga4kit.cli.common import echo_envelope

        errors, warnings = _envelope_problems(a)
        echo_envelope("report", {"file": str(path), "chain_rows": int(len(a.chains)), "flags": _records(a.flags),
                                 "meta": a.meta()}, exit_code=code, errors=errors, warnings=warnings)
    else:
        click.echo(f"Wrote {path} ({len(a.chains)} chain rows, {len(a.flags)} flags)")
        _say_data_errors(a)
    return code
