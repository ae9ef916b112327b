"""`python -m ga4kit` runs the CLI."""
try:
    from ga4kit.cli import main
except KeyboardInterrupt:  # Ctrl-C before ga4kit.cli could install its own start-up handler
    import sys

    sys.stderr.write("\nInterrupted.\n")
    raise SystemExit(130) from None

if __name__ == "__main__":  # pragma: no cover
    main()
