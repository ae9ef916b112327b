"""`ga4kit plan` and `ga4kit apply`: make GA4 properties match a goals file.

Only click is imported at module level; the library (and Google's clients) load inside the commands.
"""

from __future__ import annotations

import sys

import click

from ga4kit.cli.common import (
    EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, Progress, concurrency_option, goals_file, handle_errors, use_color,
)

_CONFIG = goals_file
_PROPERTY = click.option("-p", "--property", "properties", multiple=True, metavar="PROPERTY",
                         help="Work on this property instead of the file's (repeatable): 123456789 or "
                              "properties/123456789, not a G-... measurement id.")
_PRUNE = click.option("--prune", is_flag=True,
                      help="Also delete key events the property has but the file does not declare (never one GA4 "
                           "marks not deletable, such as purchase), and duplicate rules of declared goals.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the JSON envelope for scripts (keys "
                                                              "documented in ga4kit.admin.formatting).")
_NO_EVENT_CHECK = click.option("--no-event-check", "no_event_check", is_flag=True,
                               help="Skip the Data API request per property that warns about goals whose event "
                                    "was not seen in the last 28 days.")


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _prepare(config_path: str, properties: tuple[str, ...]):
    """The goals file and the properties to work on; every check that needs no GA4 call happens here."""
    from ga4kit.admin.plan import desired_state
    from ga4kit.cli.common import load_config
    from ga4kit.errors import Ga4kitError
    from ga4kit.properties import select_properties

    cfg = load_config(config_path)
    for w in cfg.warnings:
        click.echo(str(w), err=True)
    refs = select_properties(cfg, properties)
    if not refs:
        raise Ga4kitError(f"{config_path} lists no properties.",
                          "Add them under `properties:` in the file, or pass -p PROPERTY.")
    desired_state(cfg)  # goals that cannot become key events fail here, before any call
    return cfg, refs


def _plan_errors(the_plan) -> list[dict]:
    from ga4kit.cli.common import error_entry

    return [error_entry(p.error, property=p.property.id) for p in the_plan.properties if p.error is not None]


def _plan_warnings(the_plan) -> list[dict]:
    return [{"property": pid, "message": w.message} for pid, w in the_plan.warnings]


def _plan(cfg, clients, refs, *, prune: bool, event_check: bool, bar: Progress, concurrency: int):
    from ga4kit import admin

    return admin.plan(cfg, clients, properties=refs, prune=prune, check_events=event_check, on_property=bar,
                      concurrency=concurrency)


@click.command("plan")
@_CONFIG
@_PROPERTY
@_PRUNE
@_NO_EVENT_CHECK
@concurrency_option
@_JSON
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when nothing would change, 2 when changes are pending, 1 on any error.")
@handle_errors
def plan_cmd(config_path: str, properties: tuple[str, ...], prune: bool, no_event_check: bool, concurrency: int,
             as_json: bool, detailed_exitcode: bool) -> int:
    """Show what `ga4kit apply` would change on each property (read-only).

    For each property: key events to create (+), update (~), delete with --prune (-), unchanged (=), and
    present but not declared (.), plus the create-event rules of derived goals on the web data stream;
    a second rule producing a declared event is a duplicate (*): GA4 would count that event twice, and
    `apply --prune` deletes it. Warnings (?) name goals whose event the property has not received in the
    last 28 days, with a did-you-mean (one Data API request per property; --no-event-check skips it).

    Exit code 0, or 1 when any property could not be planned; with --detailed-exitcode 0 no changes,
    2 changes pending (duplicates included), 1 error.
    """
    from ga4kit import admin
    from ga4kit.cli.common import echo_envelope, settings

    s = settings()
    cfg, refs = _prepare(config_path, properties)
    with s.clients(write=False) as clients, Progress(len(refs), "Reading properties", enabled=not as_json,
                                                     quiet=s.quiet) as bar:
        result = _plan(cfg, clients, refs, prune=prune, event_check=not no_event_check, bar=bar,
                       concurrency=concurrency)
    if result.has_errors:
        code = EXIT_ERROR
    elif detailed_exitcode and result.has_changes:
        code = EXIT_CHANGES
    else:
        code = EXIT_OK
    if as_json:
        echo_envelope("plan", admin.plan_to_dict(result), exit_code=code, errors=_plan_errors(result),
                      warnings=_plan_warnings(result))
    else:
        click.echo(admin.render_plan(result, color=use_color(), verbose=not s.quiet))
    return code


def apply_exit_code(result) -> int:
    """0 everything applied (or nothing to do), 3 partial (some properties failed, the rest was done),
    1 nothing could be done."""
    return {"ok": EXIT_OK, "partial": EXIT_PARTIAL}.get(result.state, EXIT_ERROR)


def _interrupted_message(exc, config_path: str) -> str:
    """`Interrupted after 3 of 7 writes (...)`, naming where each property stands."""
    parts = []
    for pr in exc.result.properties:
        planned = [o for o in pr.outcomes if o.action.is_write]
        if not planned:
            continue
        done = sum(1 for o in pr.outcomes if o.status == "done")
        if pr.status == "interrupted" and not done:
            state = "not started" if all(o.message == "not attempted: interrupted" for o in pr.outcomes) \
                else f"0 of {len(planned)} writes done"
        elif pr.status == "interrupted":
            state = f"{done} of {len(planned)} writes done"
        else:
            state = pr.status
        parts.append(f"{pr.property.display}: {state}")
    text = f"Interrupted after {exc.done} of {exc.planned} write{'s' if exc.planned != 1 else ''}"
    if parts:
        text += " (" + "; ".join(parts) + ")"
    text += "."
    if exc.in_flight is not None:
        what = "rule" if exc.in_flight.kind == "event_create_rule" else "key event"
        text += f" The {what} {exc.in_flight.event} was being written and may still land."
    text += f" Run `ga4kit apply -c {config_path}` again to finish: it picks up where this stopped."
    return text


@click.command("apply")
@_CONFIG
@_PROPERTY
@_PRUNE
@_NO_EVENT_CHECK
@concurrency_option
@_JSON
@click.option("-y", "--yes", is_flag=True, help="Write without asking (needed when stdin is not a terminal).")
@handle_errors
def apply_cmd(config_path: str, properties: tuple[str, ...], prune: bool, no_event_check: bool, concurrency: int,
              as_json: bool, yes: bool) -> int:
    """Make each property's key events and create-event rules match the goals file.

    Shows the plan (with its warnings), asks before writing (unless --yes), retries transient errors,
    goes on with the next property when one fails and reports every outcome. Two applies on one machine
    take turns per property; it says when it waits (for another run, for GA4's write quota, or while it
    paces writes under 180 a minute). Ctrl-C says how many writes landed; running apply again finishes.

    Exit code 0 when everything was applied (or nothing needed to change), 3 when some properties failed
    and the others were applied, 1 when nothing could be done (or the question was declined), 130 when
    interrupted.
    """
    from ga4kit import admin
    from ga4kit.cli.common import echo_envelope, settings
    from ga4kit.errors import Ga4kitError

    s = settings()
    color = use_color()
    cfg, refs = _prepare(config_path, properties)
    with s.clients(write=True) as clients:
        try:
            with Progress(len(refs), "Reading properties", enabled=not as_json, quiet=s.quiet) as bar:
                the_plan = _plan(cfg, clients, refs, prune=prune, event_check=not no_event_check, bar=bar,
                                 concurrency=concurrency)
        except KeyboardInterrupt:
            click.echo("Interrupted while reading the properties; nothing was written.", err=True)
            return EXIT_INTERRUPTED
        if not as_json:
            click.echo(admin.render_plan(the_plan, color=color, verbose=not s.quiet))
        if the_plan.has_writes and not yes:
            if not _stdin_is_tty():
                raise Ga4kitError(
                    "Nothing was written: stdin is not a terminal, so ga4kit cannot ask before writing.",
                    "Review the plan (`ga4kit plan -c FILE`), then run `ga4kit apply -c FILE --yes`.")
            n = sum(1 for p in the_plan.properties if p.has_writes)
            if not click.confirm(f"Apply these changes to {n} propert{'y' if n == 1 else 'ies'}?", default=False,
                                 err=True):
                click.echo("Apply cancelled; nothing was written.", err=True)
                return EXIT_ERROR
        with Progress(len(refs), "Applying", enabled=not as_json, quiet=s.quiet) as bar:
            try:
                result = admin.apply(the_plan, clients, on_property=bar, on_wait=lambda _s, text: bar.note(text),
                                     concurrency=concurrency)
            except admin.ApplyInterrupted as exc:
                interrupted = exc
            else:
                interrupted = None
    if interrupted is not None:
        _report_interrupted(interrupted, the_plan, config_path, as_json=as_json, color=color)
        return EXIT_INTERRUPTED
    code = apply_exit_code(result)
    if as_json:
        errors = [_entry(pid, err) for pid, err in result.errors]
        echo_envelope("apply", admin.result_to_dict(result, the_plan), exit_code=code, errors=errors,
                      warnings=_plan_warnings(the_plan))
    elif the_plan.has_changes or the_plan.has_errors:
        click.echo("")
        click.echo(admin.render_result(result, color=color))
    return code


def _entry(pid: str, err) -> dict:
    from ga4kit.cli.common import error_entry

    return error_entry(err, property=pid)


def _report_interrupted(exc, the_plan, config_path: str, *, as_json: bool, color: bool) -> None:
    from ga4kit import admin
    from ga4kit.cli.common import echo_envelope

    message = _interrupted_message(exc, config_path)
    if as_json:
        errors = [_entry(pid, err) for pid, err in exc.result.errors if err.status != "INTERRUPTED"]
        errors.append({"property": None, "status": "INTERRUPTED", "message": message, "hint": None})
        echo_envelope("apply", admin.result_to_dict(exc.result, the_plan), exit_code=EXIT_INTERRUPTED,
                      errors=errors, warnings=_plan_warnings(the_plan))
    else:
        click.echo("")
        click.echo(admin.render_result(exc.result, color=color))
    click.echo(message, err=True)
