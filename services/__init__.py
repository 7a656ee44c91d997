"""The use cases, one service per capability, over the one event store
(infra/network_app.py): catalogue and policies, requests, shipments, partners, accounts.
Each is built in the composition root (composition/bootstrap.py) with what it needs passed
to its constructor. Every command names who acts (`actor`), recorded with its events."""
