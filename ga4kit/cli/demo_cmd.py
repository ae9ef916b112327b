"""`ga4kit demo`: the whole job on the built-in local GA4 emulator, no Google account needed."""

from __future__ import annotations

import click

from ga4kit.cli.common import handle_errors


@click.command("demo")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="Goals file to provision (default: configs/shop.yaml). Its first property is replaced by "
                   "the emulator's demo shop.")
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the HTML report.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(29, 3650),
              help="Days of generated data.")
@click.option("--users", default=5000, show_default=True, type=click.IntRange(100, 1_000_000),
              help="Users in the generated shop.")
@click.option("--seed", default=42, show_default=True, help="Seed of the generated data.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON envelope (data: {property, plan_changes, second_plan_changes, chains, flags, "
                   "report, seconds}) instead of tables.")
@click.pass_context
@handle_errors
def demo(ctx, config_path, output, no_report, days, users, seed, as_json):
    """Run the whole job on a local GA4 emulator (no Google account needed).

    Starts the emulator in-process with a generated online shop, shows the plan for the shop goals
    file, applies it (and shows that a second plan has nothing left to do), pulls the last 28 days
    (ending yesterday), prints the micro-to-macro chains by channel against the 28 days before, and
    writes report.html. Exit codes: 0 done, 1 error, 3 partial (part of the analysis is missing).
    """
    from ga4kit.cli.common import EXIT_OK, EXIT_PARTIAL, console, echo_envelope
    from ga4kit.demo import check_report_path, run_demo
    from ga4kit.render import text

    if not no_report:
        check_report_path(output)  # before the demo runs: a bad path must not cost a whole run
    out = console()

    def say(line: str) -> None:
        if not as_json:
            click.echo(line)

    def show(title, frame):
        if not as_json:
            text.print_frame(frame, "table", title=title, console=out,
                             hidden_hint="see the HTML report, or a wider terminal")

    result = run_demo(goals_file=config_path, report_path=None if no_report else output, days=days, users=users,
                      seed=seed, say=say, show=show)
    a = result.analysis
    code = EXIT_PARTIAL if a.partial else EXIT_OK
    if as_json:
        import json

        from ga4kit.serialize import frame_to_json
        from ga4kit.render.numbers import round_frame

        warnings = [{"property": i.property, "message": i.message} for i in a.incomplete]
        echo_envelope("demo", {"property": result.property_id, "plan_changes": result.plan_changes,
                               "second_plan_changes": result.second_plan_changes,
                               "chains": json.loads(frame_to_json(round_frame(a.chains, a.currencies))),
                               "flags": json.loads(frame_to_json(a.flags)),
                               "report": str(result.report_path) if result.report_path else None,
                               "seconds": {k: round(v, 3) for k, v in result.timings.items()}},
                      exit_code=code, warnings=warnings)
        ctx.exit(code)
    if result.report_path:
        click.echo(f"Wrote {result.report_path}")
    click.echo(f"Done in {_waited(result.timings['total']):.1f} s. Next: put your property id in a copy of "
               "configs/shop.yaml and run `ga4kit plan -c shop.yaml` (see README for credentials).")
    ctx.exit(code)


def _waited(work: float) -> float:
    """Seconds since the ga4kit command started (imports included), or the demo's own work when the
    command was not started as a process of its own (a test's CliRunner)."""
    import time

    from ga4kit.cli import STARTED, _launched_as_cli

    return time.perf_counter() - STARTED if _launched_as_cli() else work
