"""ga4kit's command line: a thin click layer over the library.

Only click is imported here. Each command lives in its own module under ga4kit.cli and is imported when
it runs, so `ga4kit --help` loads neither Google's clients nor pandas.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ga4kit import __version__

# command name -> "module:function". A command module imports its heavy dependencies inside the command.
COMMANDS = {
    "validate": "ga4kit.cli.config_cmds:validate",
    "schema": "ga4kit.cli.config_cmds:schema",
    "emulator": "ga4kit.cli.emulator_cmd:emulator",
    "plan": "ga4kit.cli.admin_cmds:plan_cmd", "apply": "ga4kit.cli.admin_cmds:apply_cmd",
    "pull": "ga4kit.cli.report_cmds:pull_cmd",
    "chains": "ga4kit.cli.report_cmds:chains_cmd",
    "report": "ga4kit.cli.report_cmds:report_cmd",
    "demo": "ga4kit.cli.demo_cmd:demo",
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
        from ga4kit.cli.common import EXIT_INTERRUPTED, EXIT_USAGE

        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            exc.show()
            if "--json" in argv:
                from ga4kit.cli.common import echo_envelope, error_entry

                echo_envelope(" ".join(a for a in argv[:1] if not a.startswith("-")) or "ga4kit", None,
                              exit_code=EXIT_USAGE, errors=[error_entry(exc)])
            code = EXIT_USAGE
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except (click.Abort, KeyboardInterrupt, EOFError):
            click.echo("\nInterrupted.", err=True)
            code = EXIT_INTERRUPTED
        except BrokenPipeError:
            # Output piped into `head` and closed: not an error of ours, and no traceback.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (stdout must stay writable until exit)
            code = 1
        else:
            code = rv if isinstance(rv, int) else 0
        sys.exit(code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from a static table so that listing commands imports nothing.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


SHORT_HELP = {
    "validate": "Check goals files; report every problem with file and line.",
    "schema": "Print the JSON Schema of the goals file (for editors).",
    "emulator": "Run the local GA4 emulator (Admin and Data API over gRPC).",
    "plan": "Show what apply would change on each property.",
    "apply": "Make each property's key events and create-event rules match the goals file.",
    "pull": "Pull goal event counts and users into CSV, XLSX, JSON or Parquet.",
    "chains": "Compute micro-to-macro conversion chains per segment and period.",
    "report": "Write a self-contained HTML report of chains, trends and flags.",
    "demo": "Run the whole job on the built-in local emulator (no Google account needed).",
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
