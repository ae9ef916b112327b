"""ga4kit's command line: a thin click layer over the library.

Only click is imported here. Each command lives in its own module under ga4kit.cli and is imported when
it runs, so `ga4kit --help` loads neither Google's clients nor pandas.

Ctrl-C at any moment ends with "Interrupted." and exit code 130: while this module and click are still
being imported (the console script imports them before it calls :func:`main`), a start-up handler exits
quietly; from :meth:`LazyGroup.main` on, KeyboardInterrupt is caught as usual.
"""

# No `from __future__` import and no call before the start-up handler below: until it is installed, a
# Ctrl-C shows a traceback. (These modules are loaded already: importing them runs no Python code.)
import os
import sys

try:
    import _signal as _sig  # the C module: instant, where `import signal` first builds enums (~2 ms)
except ImportError:  # pragma: no cover (not CPython)
    import signal as _sig


def _startup_interrupt(signum, frame):  # noqa: ARG001
    """SIGINT before the CLI runs: nothing has started (no file, no lock, no output), so say so and end at
    once. Not SystemExit: a handler can run inside a finalizer, where Python prints and ignores it."""
    try:
        sys.stderr.write("\nInterrupted.\n")
        sys.stderr.flush()
    finally:
        os._exit(130)


def _launched_as_cli() -> bool:
    """True when this process is the ga4kit command (console script or `python -m ga4kit`), not a program
    that imports ga4kit.cli as a library: only then may this module touch the SIGINT handler."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = os.path.basename(argv0)
    if name in ("ga4kit", "ga4kit.exe", "ga4kit-script.py"):
        return True
    return name == "__main__.py" and os.path.basename(os.path.dirname(argv0)) == "ga4kit"


def _set_sigint(handler) -> bool:
    """Install a SIGINT handler; False outside the main thread (signals belong to the main thread)."""
    try:
        _sig.signal(_sig.SIGINT, handler)
    except ValueError:
        return False
    return True


try:
    if _launched_as_cli() and _sig.getsignal(_sig.SIGINT) is _sig.default_int_handler:
        _set_sigint(_startup_interrupt)
except KeyboardInterrupt:  # Ctrl-C pressed while this module was being loaded, before the handler was in
    _startup_interrupt(_sig.SIGINT, None)

import importlib  # noqa: E402  (after the start-up handler: these imports are the window it covers)
import time as _time  # noqa: E402

# When this process started to be the ga4kit command, as near as Python lets us see: `demo` reports the
# time a user waited, imports included, not only its own work.
STARTED = _time.perf_counter()

import click  # noqa: E402

from ga4kit import __version__  # noqa: E402

# command name -> "module:function". A command module imports its heavy dependencies inside the command.
COMMANDS = {
    "validate": "ga4kit.cli.config_cmds:validate",
    "schema": "ga4kit.cli.config_cmds:schema",
    "emulator": "ga4kit.cli.emulator_cmd:emulator",
    "plan": "ga4kit.cli.admin_cmds:plan_cmd", "apply": "ga4kit.cli.admin_cmds:apply_cmd",
    "pull": "ga4kit.cli.report_cmds:pull_cmd",
    "chains": "ga4kit.cli.report_cmds:chains_cmd",
    "report": "ga4kit.cli.report_cmds:report_cmd",
    "influence": "ga4kit.cli.influence_cmd:influence_cmd",
    "demo": "ga4kit.cli.demo_cmd:demo",
    "properties": "ga4kit.cli.properties_cmd:properties_cmd",
    "audit": "ga4kit.cli.audit_cmd:audit_cmd",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (or when their own help is shown)."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._lazy))

    def get_command(self, ctx: click.Context, name: str):
        if name in self._lazy:
            module, attr = self._lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's standalone mode, except that bad options exit 1 (2 is `plan --detailed-exitcode`'s
        "changes pending") and Ctrl-C anywhere says "Interrupted." and exits 130, never a traceback."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = self._standalone(argv, prog_name, complete_var, **extra)
        except KeyboardInterrupt:  # a Ctrl-C while the outcome was being reported
            code = EXIT_INTERRUPTED
        if _launched_as_cli():
            # Python's last garbage collection at exit walks every object still alive (the demo's emulator
            # frames: ~0.4 s of a 3 s run); the process is ending, so let the OS take the memory instead.
            import gc

            gc.freeze()
        sys.exit(code)

    def _standalone(self, argv, prog_name, complete_var, **extra):
        try:
            _restore_keyboard_interrupt()
            from ga4kit.cli.common import EXIT_USAGE

            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            return rv if isinstance(rv, int) else 0
        except SystemExit as exc:  # commands return their code; this only guards against library code exiting
            return exc.code
        except click.UsageError as exc:
            exc.show()
            if "--json" in argv:
                from ga4kit.cli.common import echo_envelope, error_entry

                echo_envelope(" ".join(a for a in argv[:1] if not a.startswith("-")) or "ga4kit", None,
                              exit_code=EXIT_USAGE, errors=[error_entry(exc)])
            return EXIT_USAGE
        except click.ClickException as exc:
            exc.show()
            return exc.exit_code
        except (click.Abort, KeyboardInterrupt, EOFError):
            _ignore_interrupts()  # a second Ctrl-C while we say goodbye must not print a traceback
            click.echo("\nInterrupted.", err=True)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # Output piped into `head` and closed: not an error of ours, and no traceback.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (stdout must stay writable until exit)
            return 1
        finally:
            # The command is over: from here a Ctrl-C (say while Python joins worker threads) ends the
            # process at once. An interrupt before this line is a KeyboardInterrupt that main() catches.
            _quiet_shutdown()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from a static table so that listing commands imports nothing.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


EXIT_INTERRUPTED = 130  # = ga4kit.cli.common.EXIT_INTERRUPTED, here so that Ctrl-C needs no import


def _restore_keyboard_interrupt() -> None:
    """From here on Ctrl-C raises KeyboardInterrupt again, so commands can clean up (locks, partial files).

    SIGTERM (how cron wrappers, systemd, CI runners and Cloud Run stop a job) is handled the same way: the
    run stops cleanly, says "Interrupted." and exits 130, instead of dying mid-write."""
    if _sig.getsignal(_sig.SIGINT) is _startup_interrupt:
        _set_sigint(_sig.default_int_handler)
    sigterm = getattr(_sig, "SIGTERM", None)
    if sigterm is not None and _launched_as_cli() and _sig.getsignal(sigterm) == _sig.SIG_DFL:
        try:
            _sig.signal(sigterm, _terminate_as_interrupt)
        except ValueError:  # not the main thread
            pass


def _terminate_as_interrupt(signum, frame) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


def _ignore_interrupts() -> None:
    if _launched_as_cli():
        _set_sigint(_sig.SIG_IGN)


def _quiet_shutdown() -> None:
    """The command is done; a Ctrl-C while Python shuts down (joining worker threads) just ends the process,
    with what was written so far flushed."""
    if _launched_as_cli():
        _set_sigint(_exit_now)


def _exit_now(signum, frame) -> None:  # noqa: ARG001
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can reach it anyway
            pass
    os._exit(EXIT_INTERRUPTED)


SHORT_HELP = {
    "validate": "Check goals files; report every problem with file and line.",
    "schema": "Print the JSON Schema of the goals file (for editors).",
    "emulator": "Run the local GA4 emulator (Admin and Data API over gRPC).",
    "plan": "Show what apply would change on each property.",
    "apply": "Make each property's key events and create-event rules match the goals file.",
    "pull": "Pull goal event counts and users into CSV, XLSX, JSON, NDJSON, Parquet or Google Sheets.",
    "chains": "Compute micro-to-macro conversion chains per segment and period.",
    "report": "Write a self-contained HTML report of chains, trends and flags.",
    "influence": "Which micro goals lead to the macro goals: lift with 95% intervals.",
    "demo": "Run the whole job on the built-in local emulator (no Google account needed).",
    "properties": "List the GA4 accounts and properties the credentials can see.",
    "audit": "Audit many properties: what is wrong in each, worst first (read-only; HTML/MD/CSV/JSON).",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ga4kit")
@click.option("--credentials", "credentials", type=click.Path(dir_okay=False), envvar=None,
              help="Service-account or authorized-user JSON key. Default: GOOGLE_APPLICATION_CREDENTIALS, "
                   "then Application Default Credentials.")
@click.option("--emulator", "emulator", metavar="HOST:PORT",
              help="Talk to a local ga4kit emulator instead of Google (or set GA4KIT_EMULATOR_HOST).")
@click.option("-v", "--verbose", count=True, help="More detail (repeat for more).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the result.")
@click.pass_context
def cli(ctx: click.Context, credentials: str | None, emulator: str | None, verbose: int, quiet: bool) -> None:
    """ga4kit: provision GA4 key events from a goals file and report micro-to-macro conversion chains.

    Start with `ga4kit demo` (runs everything on a local emulator), then `ga4kit validate goals.yaml`,
    `ga4kit plan -c goals.yaml` and `ga4kit apply -c goals.yaml`.
    """
    from ga4kit.cli.common import Settings

    ctx.obj = Settings(credentials=credentials, emulator=emulator, verbose=verbose, quiet=quiet)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="ga4kit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
