"""`ga4kit validate` and `ga4kit schema`: commands on goals files that never call GA4."""

from __future__ import annotations

import click

from ga4kit.cli.common import handle_errors


@click.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=True))
@click.option("-c", "--config", "config_files", multiple=True, type=click.Path(dir_okay=True), metavar="FILE",
              help="A goals file to check (repeatable), as the other commands take it; or give files as arguments.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON envelope: data is a list with, per file, {file, valid, errors, warnings} "
                   "(each problem: file, line, path, message, fix, severity, text) and, for a valid file, "
                   "goals, macro, micro, chains, properties; the envelope's errors and warnings repeat every "
                   "problem as one line of text.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
def validate(files: tuple[str, ...], config_files: tuple[str, ...], as_json: bool, strict: bool) -> int:
    """Check goals FILES without calling GA4.

    Prints every problem with its file and line and what to write instead, in line order. Exit code 0
    when all files are valid (warnings are shown but allowed, unless --strict), 1 when any is not.
    """
    from ga4kit.cli.common import EXIT_ERROR, EXIT_OK, echo_envelope
    from ga4kit.config import load
    from ga4kit.errors import ConfigError

    files = tuple(dict.fromkeys(files + config_files))
    if not files:
        raise click.UsageError("No goals file: give one or more as arguments, or with -c FILE.")
    results = []
    failed = False
    for path in files:
        try:
            cfg = load(path)
        except ConfigError as exc:
            failed = True
            results.append({"file": path, "valid": False, "errors": [_problem(p) for p in exc.problems],
                            "warnings": [_problem(w) for w in exc.warnings]})
            continue
        if strict and cfg.warnings:
            failed = True
        results.append({
            "file": path, "valid": not (strict and cfg.warnings), "errors": [],
            "warnings": [_problem(w) for w in cfg.warnings],
            "goals": len(cfg.goals), "macro": len(cfg.macro_goals), "micro": len(cfg.micro_goals),
            "chains": len(cfg.chains), "properties": [p.id for p in cfg.properties],
        })
    code = EXIT_ERROR if failed else EXIT_OK
    if as_json:
        errors = [{"property": None, "status": "CONFIG_ERROR", "message": e["text"], "hint": e["fix"]}
                  for r in results for e in r["errors"]]
        warnings = [{"property": None, "message": w["text"]} for r in results for w in r["warnings"]]
        if strict:  # warnings are failures then
            errors += [{"property": None, "status": "CONFIG_ERROR", "message": w["text"], "hint": w["fix"]}
                       for r in results for w in r["warnings"]]
        echo_envelope("validate", results, exit_code=code, errors=errors, warnings=warnings)
    else:
        for r in results:
            for p in sorted(r["warnings"] + r["errors"], key=lambda p: p["line"] or 0):
                click.echo(p["text"], err=True)
            if r["errors"]:
                n = len(r["errors"])
                click.echo(f"{r['file']}: invalid ({n} problem{'s' if n != 1 else ''})")
            else:
                click.echo(f"{r['file']}: OK ({r['goals']} goals: {r['macro']} macro, {r['micro']} micro; "
                           f"{r['chains']} chain{'s' if r['chains'] != 1 else ''}"
                           f"{'; ' + str(len(r['warnings'])) + ' warning(s)' if r['warnings'] else ''})")
    return code


def _problem(p) -> dict:
    return {"file": p.file, "line": p.line, "path": p.path, "message": p.message, "fix": p.fix,
            "severity": p.severity, "text": str(p)}


@click.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@handle_errors
def schema(output: str | None) -> None:
    """Print the JSON Schema of the goals file.

    Point your editor at it, e.g. with the YAML language server add a first line
    `# yaml-language-server: $schema=goals.schema.json`.
    """
    import json

    from ga4kit.config.schema import goals_schema

    text = json.dumps(goals_schema(), indent=2) + "\n"
    if output:
        from ga4kit.atomic import write_text

        write_text(output, text)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)

