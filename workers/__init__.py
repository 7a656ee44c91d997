"""Long-running processes: the relay to Kafka, projection consumers, timers; and the
composition root (bootstrap) that the API and the CLI share."""
