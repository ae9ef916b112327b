"""ga4kit: provision GA4 key events from a goals file and report micro-to-macro conversion chains.

The library is the product; the CLI (ga4kit.cli) is a thin layer over it:

    from ga4kit import config, connect
    goals = config.load("configs/shop.yaml")
    clients = connect.make_clients(emulator="127.0.0.1:50051")
"""

__version__ = "0.1.0"

from ga4kit.errors import Ga4kitError  # noqa: E402  (the one exception root, re-exported)

__all__ = ["Ga4kitError", "__version__"]
