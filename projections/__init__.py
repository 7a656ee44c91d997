"""Read models: projections of events into PostgreSQL tables, and their queries."""
