"""Headless analysis: channels, anomaly detectors, the alert book, scan. No UI imports here."""
