"""The interfaces to the outside: the HTTP API (FastAPI), the librarians' web UI, the CLI."""
