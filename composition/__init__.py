"""The composition root, above the layers (ADR 0016): `bootstrap` builds the system from
settings; the demo network is loaded through its commands. Only api/ imports it."""
