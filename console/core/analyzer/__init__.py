"""Headless analyzers: the anomaly core as a service on the broker tier (issue 10).

A campus publishes more than one process can score, so analyzers split it by topic filter
(static partitions, or shared subscriptions routed by topic hash) and publish alert
transitions, retained alert state and retained rollups back to the broker (docs/wire-additions.md).
No UI imports here: this runs on servers without a terminal.
"""
