"""The operator side of rackwatch: the headless core (``console.core``), the Textual app, the CLI."""
