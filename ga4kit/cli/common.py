"""What every command shares: global settings, client construction, error-to-exit-code mapping, output."""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable

import click

from ga4kit.errors import ConfigError, Ga4kitError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # click's own code for bad options
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes pending


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


def settings(ctx: click.Context | None = None) -> Settings:
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


def echo_error(exc: Ga4kitError) -> None:
    if isinstance(exc, ConfigError):
        for w in exc.warnings:
            click.echo(str(w), err=True)
    text = str(exc)
    click.echo(f"Error: {text}", err=True)


def handle_errors(fn: Callable) -> Callable:
    """Turn ga4kit's own exceptions into `Error: ...` on stderr and exit code 1; Ctrl-C into 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Ga4kitError as exc:
            echo_error(exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def load_config(path: str):
    from ga4kit.config import load

    return load(path)
