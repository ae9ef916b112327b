"""`ga4kit audit`: what is wrong in each property, for an agency's whole portfolio (read-only).

Only click is imported at module level; Google's clients, pandas and the audit load when the command runs.
"""

from __future__ import annotations

import click

from ga4kit.cli.common import concurrency_option, handle_errors
from ga4kit.shard import OPTION_HELP as SHARD_HELP

FAIL_ON_CHOICES = ("warning", "error", "critical", "high", "medium", "low", "info")
EXIT_HELP = ("Exit codes: 0 every property was audited (and, with --fail-on, nothing at or above the level was "
             "found); 4 --fail-on: a finding at or above the level; 3 partial: some property could not be audited "
             "(permission denied, deleted, quota) or some check could not run for a reason that may pass (quota, "
             "a server error): the others were audited and written, run again later; 1 error (bad options, no "
             "property could be audited, an output that cannot be written); 130 interrupted. When both apply, "
             "3 wins over 4.")


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


@click.command("audit", epilog=EXIT_HELP)
@click.argument("goals_files", nargs=-1, type=click.Path(dir_okay=False), metavar="[GOALS_FILE]...")
@click.option("-c", "--config", "configs", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="A goals file (repeatable): its properties are audited, and its goals compared with their key "
                   "events (missing goals, counting, values, too many macro goals, goal rates that fell).")
@click.option("-p", "--property", "properties", multiple=True, metavar="ID", help="A property id (repeatable).")
@click.option("--properties-file", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="A text file with one property id per line (a label may follow; # starts a comment).")
@click.option("--account", "accounts", multiple=True, metavar="ID",
              help="Every property of this account, the ones in the trash included (repeatable).")
@click.option("--all", "all_", is_flag=True, help="Every property the credentials can see (account summaries).")
@click.option("--shard", metavar="I/N", help=SHARD_HELP.split(" Shards may write")[0] + " As in `pull`.")
@click.option("--only", multiple=True, metavar="CHECKS", help="Run only these checks or families (comma list).")
@click.option("--skip", multiple=True, metavar="CHECKS", help="Leave out these checks or families (comma list).")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the report (repeatable); the extension picks the format: .html (client-ready, "
                   "self-contained), .md, .csv or .json (one row per finding).")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), metavar="LEVEL",
              help="Exit 4 when a finding at or above LEVEL was found: error = critical or high, warning = medium "
                   "or worse, or a severity name (critical, high, medium, low, info).")
@concurrency_option
@click.option("--json", "as_json", is_flag=True, help="Print the JSON envelope (see below) instead of the summary.")
@click.pass_context
@handle_errors
def audit_cmd(ctx, goals_files, configs, properties, properties_file, accounts, all_, shard, only, skip, outputs,
              fail_on, concurrency, as_json):
    """Audit GA4 properties: settings, streams, key events, definitions, traffic quality, personal data,
    ecommerce, data gaps and product links, one finding per problem with its evidence and how to fix it.

    Properties come from goals files (GOALS_FILE or -c), -p, --properties-file, --account or --all (any
    mix; each property once). Always read-only (analytics.readonly): Viewer access is enough. A check
    that cannot run (permission, a method GA4 does not offer here, thresholded data) is reported as not
    run, never as passed. Checks the APIs cannot see (data filters, unwanted referrals, cross-domain,
    session timeout, consent mode, Search Console link) are listed in the report as manual checks.

    The summary lists properties worst first (score 0-100, findings by severity). The report files
    hold one section per property; CSV and JSON one row per finding (property, property_name, check,
    severity, message, evidence, fix); personal data found in URLs is masked everywhere.

    --json prints {"format_version": 2, "command": "audit", "ok", "exit_code", "data", "errors",
    "warnings"}: data = {started, finished, counts, partial, properties: [{property, property_name,
    account, score, grade, counts, statuses, partial, calls, facts, error, checks: [{check, status,
    reason, error_status, findings}], findings: [...]}], checks, manual_checks, severities, files};
    errors = [{property, status, message, hint}] for the properties that could not be audited.
    See docs/audit.md for every check.
    """
    from ga4kit import atomic, shard as sharding
    from ga4kit.audit import run_audit, targets as T
    from ga4kit.audit.runner import admin_wait_note
    from ga4kit.audit.model import FAIL_ON
    from ga4kit.audit.registry import checks as registered
    from ga4kit.cli.common import (EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, Progress, echo_envelope,
                                   error_entry, load_config, settings)
    from ga4kit.render import audit as render

    for path in outputs:  # before any API call: a bad path must not cost quota
        if render.format_of(path) is None:
            raise click.UsageError(f"-o {path}: the extension must be .html, .md, .csv or .json.")
        atomic.check_writable(path)
    index = sharding.resolve(shard)  # --shard I/N, else a Cloud Run job's task (as in pull)
    only_ids, skip_ids = _split(only) or None, _split(skip) or None
    try:
        registered(only_ids, skip_ids)
    except ValueError as exc:
        raise click.UsageError(f"--only/--skip: {exc}.") from None
    files = list(goals_files) + list(configs)
    groups = [T.from_goals(load_config(f)) for f in files]
    if properties:
        groups.append(T.from_ids(properties))
    if properties_file:
        groups.append(T.read_list_file(properties_file))
    if not (groups or accounts or all_):
        raise click.UsageError("No properties to audit: give a goals file, -p ID, --properties-file FILE, "
                               "--account ID or --all (see `ga4kit properties` for what the credentials see).")
    s = settings(ctx)
    with s.clients(write=False) as clients:
        groups += [T.from_account(clients, a) for a in accounts]
        if all_:
            groups.append(T.from_all(clients))
        chosen = T.merge(*groups)
        if index:
            chosen = [t for t in chosen if index.owns(t.id)]
        with Progress(len(chosen), "Auditing", enabled=not as_json, quiet=s.quiet) as bar:
            note = admin_wait_note(chosen)
            if note:
                bar.note(note)
            report = run_audit(clients, chosen, only=only_ids, skip=skip_ids,
                               concurrency=concurrency, progress=bar)
    data = report.as_dict()
    written = [str(render.write(path, data)) for path in outputs]
    data["files"] = written
    audited = [p for p in report.properties if p.error is None]
    if chosen and not audited:
        code = EXIT_ERROR
    elif report.partial:
        code = EXIT_PARTIAL
    elif fail_on and report.fails(fail_on):
        code = EXIT_FINDINGS
    else:
        code = EXIT_OK
    errors = [error_entry(p.error, property=p.property) for p in report.failed]
    if as_json:
        echo_envelope("audit", data, exit_code=code, errors=errors)
        return code
    for p in report.failed:
        hint = f" {p.error.hint}" if p.error.hint else ""
        click.echo(f"Error: property {p.property}: {p.error.message}{hint}", err=True)
    if not chosen:
        click.echo("No properties to audit" + (f" in shard {index}." if index else "."), err=True)
        return code
    for line in render.summary_lines(data):
        click.echo(line)
    for path in written:
        click.echo(f"Wrote {path}")
    if fail_on and report.fails(fail_on):
        click.echo(f"Findings at or above --fail-on {fail_on} ({FAIL_ON[fail_on]} or worse) were found.", err=True)
    return code

