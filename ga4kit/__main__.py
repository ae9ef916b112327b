"""`python -m ga4kit` runs the CLI."""
from ga4kit.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
