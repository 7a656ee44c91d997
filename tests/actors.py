"""Who acts in tests that call the services directly (every command names its actor)."""

from domain.access import Actor

TESTER: Actor = {"account": "test", "role": "network_admin"}
