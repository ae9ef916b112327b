"""`ga4kit demo`: the whole job on the built-in local GA4 emulator, no Google account needed."""

from __future__ import annotations

import click

from ga4kit.cli.common import echo_json, handle_errors


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
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of tables.")
@handle_errors
def demo(config_path, output, no_report, days, users, seed, as_json):
    """Run the whole job on a local GA4 emulator (no Google account needed).

    Starts the emulator in-process with a generated online shop, shows the plan for the shop goals
    file, applies it (and shows that a second plan has nothing left to do), pulls the last 28 days,
    prints the micro-to-macro chains by channel against the 28 days before, and writes report.html.
    """
    from ga4kit.demo import run_demo
    from ga4kit.render import text

    def say(line: str) -> None:
        if not as_json:
            click.echo(line)

    def show(title, frame):
        if not as_json:
            text.print_frame(frame, "table", title=title)

    result = run_demo(goals_file=config_path, report_path=None if no_report else output, days=days, users=users,
                      seed=seed, say=say, show=show)
    if as_json:
        import json

        from ga4kit.outputs import frame_to_json

        echo_json({"property": result.property_id, "plan_changes": result.plan_changes,
                   "second_plan_changes": result.second_plan_changes,
                   "chains": json.loads(frame_to_json(result.analysis.chains)),
                   "flags": json.loads(frame_to_json(result.analysis.flags)),
                   "report": str(result.report_path) if result.report_path else None,
                   "seconds": {k: round(v, 3) for k, v in result.timings.items()}})
        return
    if result.report_path:
        click.echo(f"Wrote {result.report_path}")
    click.echo(f"Done in {result.timings['total']:.1f} s. Next: put your property id in a copy of "
               "configs/shop.yaml and run `ga4kit plan -c shop.yaml` (see README for credentials).")
