"""The wire and the producer side of rackwatch: codec, simulator, recorder, log reader, agents.

Nothing here imports the console or any UI library, so recording and scanning run headless.
"""
