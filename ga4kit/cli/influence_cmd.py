"""`ga4kit influence`: which micro goals lead to the macro goals (Data API funnels, or exact from the BigQuery
export with --from-export), and the output helpers `chains --from-export` and `report --influence` share."""

from __future__ import annotations

import click

from ga4kit.cli.common import goals_file, handle_errors, load_config, settings
from ga4kit.constants import GRAINS
from ga4kit.render.formats import FORMATS

# Written through ga4kit.destinations (any registered extension or URL scheme); text formats go through
# ga4kit.render.bundle as `chains -o` does.
DESTINATION_SUFFIXES = (".xlsx", ".parquet", ".pq")
INFLUENCE_VIEW = ["property", "period", "<segments>", "macro", "micro", "micro_users", "other_users",
                  "rate_after_micro", "rate_without_micro", "lift_text", "note"]
EXPORT_CHAIN_VIEW = ["property", "chain", "period", "<segments>", "step_index", "step", "users_exact", "rate_exact",
                     "rate_from_first", "macro_share_exact", "time_from_previous", "sessions"]


def within_option(fn):
    return click.option("--within", metavar="DURATION",
                        help="Count the macro goal (or the next step) only within this time of the micro goal "
                             "(the previous step): 7d, 24h, 30m, 90s; a number alone is days. Default: any "
                             "time in the period.")(fn)


def min_users_option(fn):
    return click.option("--min-users", type=click.IntRange(min=1), default=30, show_default=True,
                        help="Mark a row 'too few users' when the micro goal's users or the other users are "
                             "fewer than this.")(fn)


def is_destination(output: str) -> bool:
    """True when ``output`` is written by ga4kit.destinations (XLSX, Parquet, a URL) rather than as text."""
    return "://" in output or output.lower().endswith(DESTINATION_SUFFIXES)


def check_output(output: str, fmt: str, names: list[str]) -> None:
    """Before any API call or query: an output that cannot be written must cost nothing."""
    if is_destination(output):
        from ga4kit import destinations

        destinations.check_output(output, names)
    else:
        from ga4kit.render import bundle

        bundle.check(output, fmt, names)


def write_output(output: str, frames: dict, fmt: str, **kw) -> list:
    if is_destination(output):
        from ga4kit import destinations

        return destinations.write_frames(output, frames)
    from ga4kit.render import bundle

    return bundle.write(output, frames, fmt, **kw)


def _duration(seconds) -> str:
    import math

    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def _pick(frame, view: list[str], segments) -> list[str]:
    cols = []
    for c in view:
        cols += [s for s in segments if s in frame] if c == "<segments>" else [c] if c in frame else []
    return cols


def influence_view(table, segments):
    """The influence table for people: lift with its interval as one cell, a note for thin rows."""
    import pandas as pd

    from ga4kit.render.numbers import MISSING, fmt_number

    out = table.copy()

    def lift(r):
        if pd.isna(r.lift_low):
            return MISSING
        if pd.notna(r.lift):
            point = fmt_number(round(r.lift, 2))
        elif r.rate_after_micro > 0 and r.rate_without_micro == 0:
            point = "∞"  # nobody reached the macro goal without the micro goal (a step every buyer takes)
        else:
            point = MISSING
        return f"{point} ({fmt_number(round(r.lift_low, 2))}–{fmt_number(round(r.lift_high, 2))})"

    out["lift_text"] = [lift(r) for r in out.itertuples()] if len(out) else []
    out["note"] = ["too few users" if f else "" for f in out["too_few_users"]]
    out = out[_pick(out, INFLUENCE_VIEW, segments)]
    return out.rename(columns={"lift_text": "lift (95% CI)", "rate_after_micro": "rate after micro",
                               "rate_without_micro": "rate without", "micro_users": "micro users",
                               "other_users": "other users"})


def export_chains_view(chains, segments):
    out = chains.copy()
    out["time_from_previous"] = [
        "–" if m != m else f"{_duration(m)} ({_duration(a)}–{_duration(b)})"
        for a, m, b in zip(out["seconds_from_previous_q1"], out["seconds_from_previous_median"],
                           out["seconds_from_previous_q3"])]
    out["sessions"] = ["–" if m != m else f"{m:g} ({a:g}–{b:g})"
                       for a, m, b in zip(out["sessions_q1"], out["sessions_median"], out["sessions_q3"])]
    return out[_pick(out, EXPORT_CHAIN_VIEW, segments)].rename(
        columns={"time_from_previous": "time from prev (median, IQR)", "sessions": "sessions (median, IQR)"})


def show_tables(frames: dict, views: dict, segments, titles: dict) -> None:
    """Every table on the terminal, fitted to its width."""
    from ga4kit.cli.common import console
    from ga4kit.render import text

    out = console()
    for name, frame in frames.items():
        text.print_frame(views[name](frame, segments), "table", title=titles[name], console=out, segments=segments)


def emit(command: str, frames: dict, *, fmt: str, output: str | None, as_json: bool, meta: dict, segments,
         notes: list[str], code: int, views: dict, titles: dict, errors: dict | None = None) -> int:
    """What `influence` and `chains --from-export` print or write, in every format."""
    from ga4kit.render import bundle
    from ga4kit.render.numbers import round_frame

    frames = {n: round_frame(f) for n, f in frames.items()}
    kw = {"meta": meta, "segments": segments}
    written = write_output(output, frames, fmt, **kw) if output else []
    for pid, err in (errors or {}).items():
        click.echo(f"Error: property {pid}: {err}", err=True)
    for note in notes:
        click.echo(f"Warning: {note}", err=True)
    if as_json:
        import json

        from ga4kit.cli.common import echo_envelope, error_entry
        from ga4kit.serialize import frame_to_json

        data = {n: json.loads(frame_to_json(f)) for n, f in frames.items()}
        data.update(meta=meta, files=[str(p) for p in written])
        echo_envelope(command, data, exit_code=code,
                      errors=[error_entry(err, property=pid) for pid, err in (errors or {}).items()],
                      warnings=[{"property": None, "message": n} for n in notes])
    elif written:
        for p in written:
            click.echo(f"Wrote {p}", err=True)
    elif fmt == "table":
        show_tables(frames, views, segments, titles)
    else:
        click.echo(bundle.document(frames, fmt, **kw), nl=False)
    return code


def run_export(cfg, source: str, *, start, end, segments, grain, within, min_users, properties=(), verbose=0):
    """export_chains with the CLI's options (and -p as the property's label in the tables)."""
    from ga4kit.export import export_chains
    from ga4kit.influence import parse_within

    result = export_chains(cfg, source, start=start, end=end, segments=segments, grain=grain,
                           within=parse_within(within), min_users=min_users,
                           credentials_file=settings().credentials)
    if len(properties) == 1:
        result.property = str(properties[0])
        for frame in (result.chains, result.influence):
            if "property" in frame:
                frame["property"] = result.property
    if verbose:
        click.echo(f"ga4kit: {len(result.sql)} export queries on {result.source}"
                   + (f" ({result.bytes_processed:,} bytes processed)" if result.bytes_processed else ""), err=True)
        if verbose > 1:
            for name, text in result.sql.items():
                click.echo(f"-- {name} (BigQuery SQL)\n{text}", err=True)
    return result


@click.command("influence")
@goals_file
@click.option("-p", "--property", "properties", multiple=True, metavar="ID",
              help="Property id (repeatable); default: the goals file's properties.")
@click.option("--start", help="First day: YYYY-MM-DD, NdaysAgo, yesterday or today (default: report.range).")
@click.option("--end", help="Last day (default: report.range, else yesterday).")
@click.option("-s", "--segment", "segments", multiple=True, metavar="DIMENSION",
              help="Segment dimension; the Data API uses the first one as the funnels' breakdown. Default: the "
                   "goals file's report.segments.")
@click.option("--no-segments", is_flag=True, help="All traffic only.")
@click.option("-g", "--grain", type=click.Choice(GRAINS), help="Period grain (default: report.grain).")
@within_option
@min_users_option
@click.option("--from-export", "source", metavar="SOURCE",
              help="Exact influence from the GA4 BigQuery export instead of the Data API: export files (Parquet "
                   "or NDJSON; a file, directory or pattern) or bq://PROJECT.DATASET.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format (csv and ndjson: the influence table).")
@click.option("-o", "--output", help="Write to a file instead of the terminal: .csv, .json, .ndjson, .md and "
                                     ".txt follow --format; .xlsx, .parquet or a destination URL are written as "
                                     "such.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON envelope (data: {influence, meta, files}).")
@click.pass_context
@handle_errors
def influence_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, within, min_users, source,
                  fmt, output, as_json):
    """Which micro goals lead to the macro goals, per segment and period.

    For every micro goal and every macro goal: the micro goal's users, the share of them who reached the
    macro goal afterwards (a closed funnel [micro, macro] in GA4, within --within when given), the macro
    rate of the users who did not do the micro goal, and the lift between the two (2 = twice as likely)
    with a 95% interval (Wilson intervals for the rates, the log method for the lift). Rows with fewer
    than --min-users users in either group are marked "too few users". Micro goals are ranked by lift.

    From the Data API the rate without the micro goal is an estimate (users who did the macro goal before
    the micro goal count as users without it); --from-export computes every number exactly from events.
    The Data API costs one funnel request per goal pair and group of up to four periods; -v prints the
    count.
    """
    from ga4kit.cli.common import EXIT_OK, EXIT_PARTIAL, Progress
    from ga4kit.cli.report_cmds import _segments
    from ga4kit.influence import parse_within
    from ga4kit.properties import property_ids

    if as_json and fmt != "table" and not output:
        raise click.UsageError(f"--json prints the JSON envelope; -f {fmt} would print a second document. Use "
                               f"-f {fmt} alone, or --json with -o to also write {fmt} files.")
    segs = _segments(segments, no_segments)
    seconds = parse_within(within)  # a typo must not cost a call
    if output:
        check_output(output, fmt, ["influence"])
    cfg = load_config(config_path)
    s = settings(ctx)
    titles = {"influence": "Influence of micro goals on macro goals"}
    views = {"influence": influence_view}
    if source:
        result = run_export(cfg, source, start=start, end=end, segments=segs, grain=grain, within=within,
                            min_users=min_users, properties=properties, verbose=s.verbose)
        meta = result.meta()
        return emit("influence", {"influence": result.influence}, fmt=fmt, output=output, as_json=as_json,
                    meta=meta, segments=result.segments, notes=[], code=EXIT_OK, views=views, titles=titles)
    from ga4kit.reporting.influence import influence

    pids = property_ids(cfg, properties)
    with s.clients() as clients, Progress(len(pids), "Pulling", enabled=not as_json, quiet=s.quiet) as progress:
        result = influence(cfg, clients, properties=pids, start=start, end=end, segments=segs, grain=grain,
                           within=seconds, min_users=min_users, progress=progress)
    if s.verbose:
        say_requests(result)
    code = EXIT_PARTIAL if result.partial else EXIT_OK
    return emit("influence", {"influence": result.table}, fmt=fmt, output=output, as_json=as_json,
                meta=result.meta(), segments=result.segments, notes=result.notes(errors=False), code=code,
                views=views, titles=titles, errors=result.errors)


def say_requests(result) -> None:
    for pid, n in result.funnel_requests.items():
        click.echo(f"ga4kit: influence of property {pid}: {n} funnel requests, {result.api_calls.get(pid, n)} "
                   "API calls in all", err=True)


def export_chains_cmd(ctx, config_path, properties, start, end, segments, no_segments, grain, fmt, output, as_json,
                      source, within, min_users) -> int:
    """`ga4kit chains --from-export SOURCE`: exact chains and influence from the BigQuery export."""
    from ga4kit.cli.common import EXIT_OK
    from ga4kit.cli.report_cmds import _segments
    from ga4kit.influence import parse_within

    if not source:
        raise click.UsageError("--within applies to the export's chains: pass --from-export SOURCE as well (the "
                               "Data API's chains count users in any order; see `ga4kit influence --within`).")
    segs = _segments(segments, no_segments)
    parse_within(within)
    names = ["chains", "influence"]
    if output:
        check_output(output, fmt, names)
    cfg = load_config(config_path)
    result = run_export(cfg, source, start=start, end=end, segments=segs, grain=grain, within=within,
                        min_users=min_users, properties=properties, verbose=settings(ctx).verbose)
    frames = {"chains": result.chains, "influence": result.influence}
    views = {"chains": export_chains_view, "influence": influence_view}
    titles = {"chains": "Chains (exact, from the export)", "influence": "Influence of micro goals on macro goals"}
    return emit("chains", frames, fmt=fmt, output=output, as_json=as_json, meta=result.meta(),
                segments=result.segments, notes=[], code=EXIT_OK, views=views, titles=titles)


def report_influence(ctx, analysis, start, end, segments, no_segments, grain, code: int):
    """Influence for `ga4kit report --influence`, reusing the analysis' pull when its segments fit: the table
    and the exit code (3 when funnels are missing)."""
    from ga4kit.cli.common import EXIT_PARTIAL
    from ga4kit.cli.report_cmds import _segments
    from ga4kit.reporting.influence import influence

    s = settings(ctx)
    with s.clients() as clients:
        result = influence(analysis.config, clients, properties=list(analysis.pulled.metadata) or None,
                           start=start, end=end, segments=_segments(segments, no_segments), grain=grain,
                           pulled=analysis.pulled)
    if s.verbose:
        say_requests(result)
    for note in result.notes():
        click.echo(f"Warning: {note}", err=True)
    return result.table, (EXIT_PARTIAL if result.partial else code)
