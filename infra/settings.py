"""Settings from the environment (prefix LIBSHARE_, plus DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS). Invalid values fail at start-up, not at run time."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProjectionSource(StrEnum):
    AUTO = "auto"  # Kafka when KAFKA_BOOTSTRAP_SERVERS is set, else the notification log
    KAFKA = "kafka"
    LOG = "log"
    NONE = "none"  # this process runs no projections (another one does)


class TraceExporter(StrEnum):
    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIBSHARE_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LIBSHARE_DATABASE_URL")
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "LIBSHARE_KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_json: bool = True
    trace_exporter: TraceExporter = TraceExporter.NONE
    otlp_endpoint: str | None = None
    service_name: str = "libshare"
    kafka_topic_prefix: str = Field(default="libshare", pattern=r"^[A-Za-z0-9._-]+$")
    kafka_partitions: int = Field(default=6, ge=1, le=64)  # ADR 0015
    kafka_client_id: str = "libshare"
    # A relay or projector whose Kafka client makes no progress this long, while the
    # broker answers a fresh client, throws the client away and makes a new one (ADR 0019).
    kafka_stuck_seconds: float = Field(default=20.0, ge=2)
    # /health says "degraded" when the relay's oldest unpublished event is older than this,
    # a projection with lag has not moved for this long, or a worker has not beaten for
    # `health_heartbeat_seconds` (ADR 0019).
    health_backlog_seconds: float = Field(default=30.0, gt=0)
    health_heartbeat_seconds: float = Field(default=15.0, gt=0)
    projection_source: ProjectionSource = ProjectionSource.AUTO
    run_workers: bool = True  # `serve` also runs the relay / projector threads
    load_demo: bool = True  # load the demo network into an empty event store on start
    # eventsourcing's insert function (one round trip with our metadata, no LOCK TABLE):
    # writers no longer serialise, ids may commit out of order, and our gap-aware readers
    # stay correct (ADR 0003). False falls back to the table lock.
    event_store_db_functions: bool = True
    # 32 bytes, base64: encrypts postal partners' webhook secrets at rest. Unset in
    # development: a key file is created under data_dir.
    secrets_key: str | None = None
    # 32 bytes, base64: wraps each reader's data key (infra/personal_data.py). Unset in
    # development: a key file under data_dir. Losing it makes every reader's data unreadable.
    reader_data_key: str | None = None
    # Libraries whose policy activates an online card at once (no visit to verify identity).
    readers_instant_activation: list[str] = Field(default_factory=list)
    # Reading history: an ended ILL request forgets its reader after this many days.
    reading_history_days: int = Field(default=365, ge=1)
    # 32 bytes, base64: signs bearer tokens. Unset in development: a key file under data_dir.
    token_key: str | None = None
    # 32 bytes, base64: signs digital loans' viewer links. Unset: derived from the token key.
    viewer_link_key: str | None = None
    digital_pages_dir: Path | None = None  # page images of digitised works (data_dir/pages)
    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)  # API bearer tokens
    ui_session_hours: float = Field(default=8.0, gt=0, le=24)  # a working day in the web UI
    login_max_failures: int = Field(default=5, ge=1)  # then sign-ins wait (429)
    login_window_seconds: int = Field(default=900, ge=10)
    webhook_tolerance_seconds: int = Field(default=300, ge=30, le=3600)
    webhook_rate_per_second: float = Field(default=20.0, gt=0)
    webhook_burst: int = Field(default=40, ge=1)
    stuck_after_days: int = Field(default=5, ge=1)
    # A transfer of more copies than this needs the network administrator's approval too.
    transfer_network_approval_above: int = Field(default=100, ge=0)
    timer_interval_seconds: float = Field(default=60.0, gt=0)
    db_pool_size: int = Field(default=8, ge=1, le=100)
    startup_retry_seconds: float = Field(default=60.0, gt=0)
    # The verifiable log (ADR 0026): its origin (also its key's name), its Ed25519 key (32
    # bytes, base64; unset in development: a key file under data_dir), and how often it
    # signs a checkpoint (every so many events, or so many seconds once it has grown).
    audit_log: bool = True  # `serve` also runs the audit log's worker
    audit_origin: str = Field(default="libshare.local/ha-nam/events", pattern=r"^[^\s+]+$")
    audit_signing_key: str | None = None
    audit_checkpoint_events: int = Field(default=1000, ge=1)
    audit_checkpoint_seconds: float = Field(default=10.0, gt=0)
    # ISO 18626 on the wire (ADR 0028): the folder of the official XSDs (none: the
    # endpoint answers 503 and the outbox sends nothing), our libraries' agency id type
    # (their value: the library code), and how long the outbox retries one message.
    iso18626_xsd_dir: Path | None = None
    iso18626_agency_id_type: str = "ISIL"
    iso18626_send_seconds: float = Field(default=30.0, gt=0)
    iso18626_outbox_interval_seconds: float = Field(default=1.0, gt=0)
    # Mutual TLS with ISO 18626 peers (ADR 0028, amended 2026-12-02). What the outbox
    # presents to a peer configured for mutual TLS (a PEM certificate and its key), and the
    # CAs it trusts for the peers' server certificates (unset: the system's).
    iso18626_client_cert: Path | None = None
    iso18626_client_key: Path | None = None
    iso18626_ca_file: Path | None = None
    # Our other client certificates, by name (ADR 0028, 2026-12-02 (3)): a peer configured
    # with one of these names is presented that certificate instead of the one above,
    # e.g. '{"nlv-2026": ["/etc/libshare/nlv.crt", "/etc/libshare/nlv.key"]}' (the key may
    # be left out when the certificate file holds it). The peer's event names the name only.
    iso18626_client_certs: dict[str, list[Path]] = Field(default_factory=dict)
    # The lookup hook: outside peers asked whether their catalogue has a work when a rota
    # is made, library code -> its SRU server, e.g. '{"VN-NLV": "https://nlv.example/sru"}',
    # and how long the lookup may take (the peers are asked at once: one time-out for all);
    # how long a peer's answer is kept for the next rota of the same work (0: not kept).
    iso18626_lookups: dict[str, str] = Field(default_factory=dict)
    iso18626_lookup_seconds: float = Field(default=3.0, gt=0, le=30)
    iso18626_lookup_cache_seconds: float = Field(default=300.0, ge=0, le=86400)
    # `serve` over HTTPS (PEM files); with a client CA, clients may present certificates
    # signed by it (how a peer configured for mutual TLS proves itself: api/tls.py).
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    tls_client_ca: Path | None = None
    # Certificate revocation lists (PEM, one file, a CRL for each CA whose certificates we
    # check): the handshake of `serve` checks clients' certificates against them, and the
    # outbox (and the lookup hook) the peers' server certificates. Fail closed: a missing or
    # unreadable file stops the start; an expired CRL, or none for a certificate's CA,
    # refuses that certificate. Read at start-up (a new CRL: restart).
    tls_crl_file: Path | None = None
    # OAI-PMH harvests (ADR 0025): library code -> its system's provider, with its set:
    # LIBSHARE_HARVEST_SOURCES='{"HNM-KB": "https://koha.kb.example/cgi-bin/koha/oai.pl"}'
    harvest_sources: dict[str, str] = Field(default_factory=dict)
    harvest_interval_seconds: float = Field(default=3600.0, gt=0)
    # Scheduled backups in the workers (ADR 0024): off unless a folder is named. The
    # secrets in each are sealed with the passphrase (LIBSHARE_BACKUP_PASSPHRASE, as for
    # `libshare backup`) or the key (32 bytes, base64).
    backup_dir: Path | None = None
    backup_every_hours: float = Field(default=24.0, gt=0)
    backup_keep_daily: int = Field(default=7, ge=1)
    backup_keep_weekly: int = Field(default=4, ge=0)
    backup_passphrase: str | None = None
    backup_key: str | None = None

    def effective_projection_source(self) -> ProjectionSource:
        if self.projection_source is ProjectionSource.AUTO:
            return ProjectionSource.KAFKA if self.kafka_bootstrap_servers else ProjectionSource.LOG
        return self.projection_source


def pages_dir(settings: Settings) -> Path:
    """Where the page images of digitised works are (the folder page store)."""
    return settings.digital_pages_dir or settings.data_dir / "pages"
