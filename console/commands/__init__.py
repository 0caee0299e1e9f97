"""One module per ``rackwatch`` subcommand; each has ``register(subparsers)``.

A module imports only argparse-level things at import time and the heavy machinery inside its
run function, so ``rackwatch scan`` starts without importing textual.
"""
