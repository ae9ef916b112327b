"""`ga4kit plan` and `ga4kit apply`: make GA4 properties match a goals file.

Only click is imported at module level; the library (and Google's clients) load inside the commands.
"""

from __future__ import annotations

import contextlib
import sys

import click

from ga4kit.cli.common import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, handle_errors

_CONFIG = click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False),
                       metavar="FILE", help="The goals file (YAML).")
_PROPERTY = click.option("-p", "--property", "properties", multiple=True, metavar="PROPERTY",
                         help="Work on this property instead of the file's (repeatable): 123456789 or "
                              "properties/123456789, not a G-... measurement id.")
_PRUNE = click.option("--prune", is_flag=True,
                      help="Also delete key events the property has but the file does not declare (never one GA4 "
                           "marks not deletable, such as purchase).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (keys documented in "
                                                              "ga4kit.admin.render).")


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def _progress(total: int, label: str, enabled: bool):
    """A progress bar on stderr when several properties are processed on a terminal; yields a tick()."""
    if not enabled or total < 2 or not sys.stderr.isatty():
        yield lambda *_: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda *_: bar.advance(task)


def _prepare(config_path: str, properties: tuple[str, ...]):
    """The goals file and the properties to work on; every check that needs no GA4 call happens here."""
    from ga4kit import admin
    from ga4kit.admin.plan import desired_state
    from ga4kit.cli.common import load_config
    from ga4kit.errors import Ga4kitError

    cfg = load_config(config_path)
    for w in cfg.warnings:
        click.echo(str(w), err=True)
    refs = admin.select_properties(cfg, properties)
    if not refs:
        raise Ga4kitError(f"{config_path} lists no properties.",
                          "Add them under `properties:` in the file, or pass -p PROPERTY.")
    desired_state(cfg)  # goals that cannot become key events fail here, before any call
    return cfg, refs


@click.command("plan")
@_CONFIG
@_PROPERTY
@_PRUNE
@_JSON
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when nothing would change, 2 when changes are pending, 1 on any error.")
@handle_errors
def plan_cmd(config_path: str, properties: tuple[str, ...], prune: bool, as_json: bool,
             detailed_exitcode: bool) -> None:
    """Show what `ga4kit apply` would change on each property (read-only).

    For each property: key events to create (+), update (~), delete with --prune (-), unchanged (=), and
    present but not declared (.), plus the create-event rules of derived goals on the web data stream.
    Exit code 0, or 1 when any property could not be planned; with --detailed-exitcode 0 no changes,
    2 changes pending, 1 error.
    """
    from ga4kit import admin
    from ga4kit.cli.common import echo_json, settings

    s = settings()
    cfg, refs = _prepare(config_path, properties)
    with s.clients(write=False) as clients, _progress(len(refs), "Reading properties",
                                                     not (as_json or s.quiet)) as tick:
        result = admin.plan(cfg, clients, properties=refs, prune=prune, on_property=tick)
    if as_json:
        echo_json(admin.plan_to_dict(result))
    else:
        click.echo(admin.render_plan(result, color=True, verbose=not s.quiet))
    if result.has_errors:
        sys.exit(EXIT_ERROR)
    if detailed_exitcode and result.has_changes:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)


@click.command("apply")
@_CONFIG
@_PROPERTY
@_PRUNE
@_JSON
@click.option("-y", "--yes", is_flag=True, help="Write without asking (needed when stdin is not a terminal).")
@handle_errors
def apply_cmd(config_path: str, properties: tuple[str, ...], prune: bool, as_json: bool, yes: bool) -> None:
    """Make each property's key events and create-event rules match the goals file.

    Shows the plan, asks before writing (unless --yes), retries transient errors, goes on with the next
    property when one fails and reports every outcome. Exit code 0 when everything was applied (or
    nothing needed to change), 1 when anything failed or was refused.
    """
    from ga4kit import admin
    from ga4kit.cli.common import echo_json, settings
    from ga4kit.errors import Ga4kitError

    s = settings()
    cfg, refs = _prepare(config_path, properties)
    with s.clients(write=True) as clients:
        with _progress(len(refs), "Reading properties", not (as_json or s.quiet)) as tick:
            the_plan = admin.plan(cfg, clients, properties=refs, prune=prune, on_property=tick)
        if not as_json:
            click.echo(admin.render_plan(the_plan, color=True, verbose=not s.quiet))
        if the_plan.has_changes and not yes:
            if not _stdin_is_tty():
                raise Ga4kitError(
                    "Nothing was written: stdin is not a terminal, so ga4kit cannot ask before writing.",
                    "Review the plan (`ga4kit plan -c FILE`), then run `ga4kit apply -c FILE --yes`.")
            n = sum(1 for p in the_plan.properties if p.has_changes)
            if not click.confirm(f"Apply these changes to {n} propert{'y' if n == 1 else 'ies'}?", default=False,
                                 err=True):
                click.echo("Apply cancelled; nothing was written.", err=True)
                sys.exit(EXIT_ERROR)
        with _progress(len(refs), "Applying", not (as_json or s.quiet)) as tick:
            result = admin.apply(the_plan, clients, on_property=tick)
    if as_json:
        echo_json(admin.result_to_dict(result, the_plan))
    elif the_plan.has_changes or the_plan.has_errors:
        click.echo("")
        click.echo(admin.render_result(result, color=True))
    sys.exit(EXIT_OK if result.ok else EXIT_ERROR)
