"""The verifiable log's Kafka topics (ADR 0026): their names, their creation (one
partition each: read in order), and what the checkpoints topic carries."""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass, field


def checkpoints_topic(prefix: str) -> str:
    return f"{prefix}.audit-checkpoints"


def cosignatures_topic(prefix: str) -> str:
    return f"{prefix}.audit-cosignatures"


@dataclass(frozen=True)
class Published:
    """What the checkpoints topic carries: the signed note, a consistency proof from the
    checkpoint before it (c2sp.org/tlog-witness's add-checkpoint, on a topic), and the
    hashes of the leaves it adds (bound by the signed root), so that a verifier reading
    Kafka alone names the first event that differs."""

    note: str
    old_size: int
    proof: list[bytes]
    leaves: list[bytes] = field(default_factory=list)

    def encode(self) -> bytes:
        return json.dumps(
            {
                "note": self.note,
                "old_size": self.old_size,
                "consistency": [base64.b64encode(p).decode() for p in self.proof],
                "leaves": [base64.b64encode(h).decode() for h in self.leaves],
            }
        ).encode()

    @classmethod
    def decode(cls, value: bytes) -> Published:
        d = json.loads(value)
        return cls(
            d["note"],
            int(d["old_size"]),
            [base64.b64decode(p) for p in d["consistency"]],
            [base64.b64decode(h) for h in d.get("leaves", [])],
        )


def leaves_topic(prefix: str) -> str:
    """Each logged event's leaf data (its bytes as stored), keyed by leaf index."""
    return f"{prefix}.audit-leaves"


def ensure_topics(bootstrap: str, prefix: str, client_id: str) -> None:
    """The log's topics, if missing (one partition each: read in order)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from infra.kafka_log import TOPIC_CONFIG

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=f"{client_id}-admin")
    try:
        existing = set(admin.list_topics())
        for name in (checkpoints_topic(prefix), cosignatures_topic(prefix), leaves_topic(prefix)):
            if name not in existing:
                # One partition: the witnesses read the checkpoints in order.
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics([NewTopic(name, 1, 1, topic_configs=TOPIC_CONFIG)])
    finally:
        admin.close()
