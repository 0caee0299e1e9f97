"""Detectors: each turns per-channel state into a level per channel (-1 unknown, 0, 1, 2).

All are causal (the verdict at t uses samples up to t) and vectorized over every channel.
"""
