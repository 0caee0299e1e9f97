"""Widgets of the console: each reads a frozen Snapshot and never mutates it."""
