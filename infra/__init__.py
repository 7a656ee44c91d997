"""Adapters to the outside: settings, PostgreSQL, Kafka, logs, traces, retries."""
