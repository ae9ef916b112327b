"""ga4kit: provision GA4 key events from a goals file and report micro-to-macro conversion chains.

The library is the product; the CLI (ga4kit.cli) is a thin layer over it:

    from ga4kit import config, connect
    goals = config.load("configs/shop.yaml")
    clients = connect.make_clients(emulator="127.0.0.1:50051")
"""

__version__ = "0.1.0"

__all__ = ["Ga4kitError", "__version__"]


def __getattr__(name: str):
    # The one exception root, re-exported on first use: importing ga4kit itself stays instant, which keeps
    # the window before the CLI's Ctrl-C handling (ga4kit.cli) as short as it can be.
    if name == "Ga4kitError":
        from ga4kit.errors import Ga4kitError

        return Ga4kitError
    raise AttributeError(f"module 'ga4kit' has no attribute {name!r}")
