"""The network's aggregates, their events and their errors: pure Python, no I/O."""
