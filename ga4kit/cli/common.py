"""What every command shares: global settings, client construction, error-to-exit-code mapping, output.

Exit codes (the same for every command; README and `ga4kit --help` list them)::

    0    ok
    1    error: nothing (or nothing more) was done; bad options and bad input included
    2    plan --detailed-exitcode only: changes are pending
    3    partial: some properties failed, the others were done and written
    4    audit --fail-on only: a finding at or above the level was found
    130  interrupted (Ctrl-C, SIGTERM)

JSON (``--json`` on every command) is one envelope, ``format_version`` 2::

    {"format_version": 2, "command": "pull", "ok": true, "exit_code": 0,   # ok: exit 0 (or plan's 2)
     "data": {...what the command produced; documented in its --help...},
     "errors":   [{"property": "123"|null, "status": "PERMISSION_DENIED"|..., "message": str, "hint": str|null}],
     "warnings": [{"property": "123"|null, "message": str}]}

``status`` is the gRPC status name of a failed GA4 call, or one of ga4kit's own: CONFIG_ERROR, USAGE_ERROR,
OUTPUT_ERROR, CREDENTIALS_ERROR, IDENTIFIER_ERROR, CAP_EXCEEDED, PLAN_ERROR, ERROR. A command that fails as
a whole prints the envelope with ``ok: false`` and ``data: null``. Row streams (chains rows, pulled rows)
are not wrapped: they are written as NDJSON (one JSON object per line) where a command offers it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import click

from ga4kit.errors import ConfigError, Ga4kitError
from ga4kit.render.terminal import console, use_color  # noqa: F401 (commands import them from here)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 1  # bad options are an error like any other (terraform does the same); 2 means "changes pending"
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes pending
EXIT_PARTIAL = 3  # some properties failed, the others were done
EXIT_FINDINGS = 4  # audit --fail-on: a finding at or above the level
EXIT_INTERRUPTED = 130

FORMAT_VERSION = 2


@dataclass
class Settings:
    credentials: str | None = None
    emulator: str | None = None
    verbose: int = 0
    quiet: bool = False

    def clients(self, *, write: bool = False):
        """Clients for this invocation; read-only scope unless the command writes."""
        from ga4kit.connect import make_clients

        def on_call(name: str) -> None:
            click.echo(f"ga4kit: API call {name}", err=True)

        return make_clients(credentials_file=self.credentials, emulator=self.emulator, write=write,
                            on_call=on_call if self.verbose else None)

    def destination(self, target: str):
        """The destination ``-o`` names, connected as this invocation's clients are (a spreadsheet is written
        with the same --credentials / --emulator)."""
        from ga4kit.destinations import open_destination

        return open_destination(target, credentials_file=self.credentials, emulator=self.emulator)


def settings(ctx: click.Context | None = None) -> Settings:
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


def error_status(exc: BaseException) -> str:
    """The ``status`` of an error entry: the gRPC status of an ApiError, else ga4kit's own kind."""
    from ga4kit import errors as E

    status = getattr(exc, "status", None)
    if isinstance(status, str) and status:
        return status
    for cls, name in ((E.ConfigError, "CONFIG_ERROR"), (E.OutputError, "OUTPUT_ERROR"),
                      (E.CredentialsError, "CREDENTIALS_ERROR"), (E.IdentifierError, "IDENTIFIER_ERROR"),
                      (E.CapExceededError, "CAP_EXCEEDED"), (E.PlanError, "PLAN_ERROR")):
        if isinstance(exc, cls):
            return name
    if isinstance(exc, click.UsageError):
        return "USAGE_ERROR"
    return "ERROR"


def error_entry(exc: Any, property: str | None = None) -> dict:
    """One entry of the envelope's ``errors`` from an exception or an object with status/message/hint."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = str(exc)
    return {"property": property, "status": error_status(exc), "message": message,
            "hint": getattr(exc, "hint", None)}


def envelope(command: str, data: Any, *, exit_code: int = EXIT_OK, errors: list | None = None,
             warnings: list | None = None, ok: bool | None = None) -> dict:
    """The one JSON document every command prints with --json (see the module docstring).

    ``ok`` is true when the command did what it was asked: exit code 0, or 2 from
    `plan --detailed-exitcode` (changes pending is an answer, not a failure)."""
    if ok is None:
        ok = exit_code == EXIT_OK or (command == "plan" and exit_code == EXIT_CHANGES)
    return {"format_version": FORMAT_VERSION, "command": command, "ok": ok,
            "exit_code": exit_code, "data": data, "errors": list(errors or []), "warnings": list(warnings or [])}


def echo_envelope(command: str, data: Any, **kw) -> None:
    echo_json(envelope(command, data, **kw))


def _command_name(ctx: click.Context | None) -> str:
    if ctx is None:
        return "ga4kit"
    parts = []
    while ctx is not None and ctx.parent is not None:
        parts.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed([p for p in parts if p])) or "ga4kit"


class CommandError(click.ClickException):
    """The one way a command ends early: shown as ``Error: message hint`` on stderr, then ``exit_code``.

    Library errors become one in :func:`handle_errors`; a command that must stop raises it itself. A
    command whose outcome is not 0 but needs no error line (a partial run, changes pending) returns its
    exit code instead; :class:`ga4kit.cli.LazyGroup` turns the return value into the process's exit code.
    """

    def __init__(self, message: str, *, exit_code: int = EXIT_ERROR, hint: str | None = None,
                 cause: BaseException | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.hint = hint
        self.cause = cause

    def format_message(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def show(self, file=None) -> None:  # noqa: ARG002 (always stderr)
        if isinstance(self.cause, ConfigError):
            for w in self.cause.warnings:
                click.echo(str(w), err=True)
        click.echo(f"Error: {self.format_message()}", err=True)


def handle_errors(fn: Callable) -> Callable:
    """Turn ga4kit's own exceptions into a :class:`CommandError` (``Error: ...`` and exit code 1).

    With ``--json`` (an ``as_json`` parameter) a failure also prints the envelope with ``ok: false`` on
    stdout, so a script always gets one JSON document. Ctrl-C (and SIGTERM) propagate to
    :class:`ga4kit.cli.LazyGroup`, which says "Interrupted." and exits 130.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Ga4kitError as exc:
            if kwargs.get("as_json"):
                echo_envelope(_command_name(click.get_current_context(silent=True)), None,
                              exit_code=exc.exit_code, errors=[error_entry(exc)])
            raise CommandError(exc.message, exit_code=exc.exit_code, hint=exc.hint, cause=exc) from None

    return wrapper


concurrency_option = click.option(
    "--concurrency", type=click.IntRange(1, 50), default=10, show_default=True, metavar="N",
    help="Properties worked on at once. GA4's own limits hold whatever N is: at most 10 Data API requests in "
         "flight per property, Admin API reads and writes paced per minute (see BENCHMARKS.md, Caps and why).")


def goals_file(fn: Callable) -> Callable:
    """The goals file, as ``-c FILE`` or as the first argument (``ga4kit plan goals.yaml``): both forms
    work on every command that reads one, and the command receives it as ``config_path``."""

    @functools.wraps(fn)
    def wrapper(*args, config_file: str | None = None, config_path: str | None = None, **kwargs):
        if config_file and config_path and os.path.abspath(config_file) != os.path.abspath(config_path):
            raise click.UsageError(f"Two goals files were given ({config_file} and -c {config_path}); give one.")
        path = config_path or config_file
        if not path:
            raise click.UsageError("No goals file: give it as the first argument or with -c FILE "
                                   "(examples are in configs/, e.g. configs/shop.yaml).")
        return fn(*args, config_path=path, **kwargs)

    wrapper = click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
                           help="The goals file (YAML); it may also be given as the first argument.")(wrapper)
    return click.argument("config_file", required=False, metavar="[FILE]",
                          type=click.Path(dir_okay=False))(wrapper)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str, ensure_ascii=False))


# ----------------------------------------------------------------------------------------- terminal

class Progress:
    """The one progress bar of every command: rich, on stderr, only when stderr is a terminal and the
    run is not --quiet / --json. It counts properties (``advance()`` once per property, in any thread).

    ``note(text)`` says something a user waiting should know (a pause for quota, a retry): above the bar
    on a terminal, as a plain stderr line otherwise (unless quiet), so an unattended run's log shows it too.
    """

    def __init__(self, total: int, label: str, *, enabled: bool = True, quiet: bool = False):
        self.total = total
        self.label = label
        self.quiet = quiet
        self._bar = None
        self._task = None
        self._enabled = enabled and not quiet and total > 1 and _isatty(sys.stderr)

    def __enter__(self) -> "Progress":
        if self._enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn
            from rich.progress import TimeElapsedColumn

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def advance(self, *_: Any) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    __call__ = advance  # usable as the library's per-property callback

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text, err=True)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(total: int, label: str, *, enabled: bool = True, quiet: bool = False) -> Iterator[Progress]:
    with Progress(total, label, enabled=enabled, quiet=quiet) as p:
        yield p


def load_config(path: str):
    from ga4kit.config import load

    return load(path)
