"""The composition root: builds the database, the event store application, the services
over it, the projections, the relay and the sources from settings. The API, the CLI and
the tests call `bootstrap`; nothing else constructs these. It sits above the layers
(ADR 0016): it may import every package but api/, and only api/ imports it."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from uuid import UUID

import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from domain.routing import Candidate
from infra.audit_store import setup as setup_audit_tables
from infra.certificates import outbox_tls
from infra.clock import utc_now
from infra.credentials import Credentials
from infra.database import Database, EmbeddedPostgres, purge_pool
from infra.event_store import event_store_env
from infra.harvest_positions import HarvestPositions
from infra.heartbeats import Heartbeat
from infra.iso18626_xml import Schemas
from infra.kafka_log import new_producer
from infra.log_reader import NotificationLogReader
from infra.logs import configure_logging
from infra.network_app import NetworkApp
from infra.oai_client import fetch as oai_fetch
from infra.page_folder import FolderPages
from infra.partner_secrets import PartnerSecrets, load_key
from infra.personal_data import ReaderKeys
from infra.settings import ProjectionSource, Settings, pages_dir
from infra.signed_note import Signer
from infra.sru_client import sru_count
from infra.tokens import Tokens
from infra.tracing import configure_tracing
from infra.viewer_links import ViewerLinks
from projections.accounts import AccountsProjection, usernames_of
from projections.catalogue import CatalogueProjection, copies_naming, find_candidates
from projections.catalogue_protocols import work_isbns
from projections.catalogue_search import CatalogueSearchProjection
from projections.dead_letters import replay_parked
from projections.digital import DigitalProjection
from projections.libraries import LibrariesProjection
from projections.projection import Projection
from projections.readers import ReadersProjection
from projections.rebuild import Progress, Rebuild, RebuildReport
from projections.requests import RequestsProjection, open_requests_naming
from projections.runner import ProjectionRunner
from projections.shipments import ShipmentsProjection, in_transit
from projections.sources import KafkaSource, LogSource
from projections.statistics import StatisticsProjection
from projections.transfers import TransfersProjection
from projections.transfers import naming as transfers_naming
from services.accounts import AccountsService
from services.catalogue import CatalogueService
from services.catalogue_import import CatalogueImportService
from services.copies import CopiesService
from services.digital import DigitalService
from services.digital_access import DigitalAccessService
from services.entry import Entry
from services.history import HistoryService
from services.idempotency import Idempotency
from services.iso_candidates import AnswerCache, WithOutsideLookups
from services.iso_inbound import IsoInbound
from services.iso_peers import IsoPeersService
from services.partners import PartnersService
from services.readers import ReadersService
from services.reorganisation import Mover, ReorganisationService
from services.requests import CandidateFinder, RequestsService
from services.rotations import RotationsService
from services.shipment_moves import ShipmentMover
from services.shipments import ShipmentsService, StoredWaybills
from services.stock_moves import StockMover
from services.transfers import TransfersService
from workers.audit_log import AuditLog
from workers.audit_log import Kafka as AuditKafka
from workers.backups import BackupSchedule
from workers.harvest import Fetch, Harvester
from workers.iso_outbox import IsoOutbox
from workers.relay import Relay
from workers.supervisor import Supervised
from workers.timers import Timers
from workers.witness import KafkaWitness, Witness

log = structlog.get_logger("libshare.bootstrap")


PROJECTIONS: dict[str, type[Projection]] = {
    p.name: p
    for p in (
        LibrariesProjection,
        CatalogueProjection,
        RequestsProjection,
        StatisticsProjection,
        ShipmentsProjection,
        AccountsProjection,
        TransfersProjection,
        ReadersProjection,
        DigitalProjection,
        CatalogueSearchProjection,
    )
}


def all_projections() -> list[Projection]:
    return [cls() for cls in PROJECTIONS.values()]


def projection_named(name: str, schema: str = "public") -> Projection:
    try:
        return PROJECTIONS[name](schema)
    except KeyError:
        raise LookupError(f"no projection {name!r}; there are: {', '.join(PROJECTIONS)}") from None


@dataclass
class System:
    settings: Settings
    db: Database
    app: NetworkApp  # the event store: every service saves through it
    embedded: EmbeddedPostgres | None
    projections: list[Projection]
    reader: NotificationLogReader
    tokens: Tokens
    credentials: Credentials
    candidate_finder: CandidateFinder
    catalogue: CatalogueService
    requests: RequestsService
    shipments: ShipmentsService
    partners: PartnersService
    accounts: AccountsService
    copies: CopiesService
    transfers: TransfersService
    rotations: RotationsService
    reorganisation: ReorganisationService
    readers: ReadersService
    digital: DigitalService
    digital_access: DigitalAccessService
    entry: Entry  # the one way in for commands: `system.entry.act(caller, command)`
    iso_peers: IsoPeersService | None = None  # ISO 18626 on the wire (ADR 0028)
    iso_schemas: Schemas | None = None  # None: no XSD folder configured
    threads: list[Supervised] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    runner: ProjectionRunner | None = None
    relay: Relay | None = None

    # -- builders -------------------------------------------------------------------------
    def make_runner(self, projections: list[Projection] | None = None) -> ProjectionRunner:
        runner = ProjectionRunner(self.db, projections or self.projections)
        runner.setup()
        return runner

    def make_log_source(self) -> LogSource:
        return LogSource(self.db, self.reader)

    def make_kafka_source(self, group_id: str | None = None) -> KafkaSource:
        """A consumer in the group `<topic prefix>-projections` unless told otherwise:
        the projectors of one deployment share it; another deployment's (another prefix
        on the same brokers) never joins it."""
        s = self.settings
        assert s.kafka_bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS is not set"
        group_id = group_id or f"{s.kafka_topic_prefix}-projections"
        return KafkaSource(
            s.kafka_bootstrap_servers,
            s.kafka_topic_prefix,
            group_id,
            s.kafka_client_id,
            stuck_after=s.kafka_stuck_seconds,
            partitions=s.kafka_partitions,
        )

    def make_relay(self, name: str = "kafka") -> Relay:
        s = self.settings
        bootstrap = s.kafka_bootstrap_servers
        assert bootstrap, "KAFKA_BOOTSTRAP_SERVERS is not set"
        relay = Relay(
            self.db,
            self.reader,
            lambda: new_producer(bootstrap, s.kafka_client_id),
            bootstrap=bootstrap,
            topic_prefix=s.kafka_topic_prefix,
            partitions=s.kafka_partitions,
            client_id=s.kafka_client_id,
            name=name,
            stuck_after=s.kafka_stuck_seconds,
            heartbeat=Heartbeat(self.db, "relay"),
        )
        relay.setup()
        return relay

    def rebuild(
        self, name: str, on_progress: Progress | None = None, batch_size: int = 5000
    ) -> RebuildReport:
        projection_named(name)  # fail fast on an unknown name
        return Rebuild(
            self.db, self.reader, lambda schema: projection_named(name, schema), batch_size
        ).run(on_progress)

    def purge_broken_connections(self) -> None:
        """Drop dead connections from both pools (ours and the event store's)."""
        self.db.purge_broken()
        purge_pool(self.app.recorder.datastore.pool)  # type: ignore[attr-defined]

    def replay_parked(self, name: str) -> dict[str, int]:
        return replay_parked(self.db, projection_named(name))

    # -- background workers -----------------------------------------------------------------
    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        self.threads.append(Supervised(name, lambda _stop: target(), self.stop_event).start())

    def start_relay(self) -> Relay:
        self.relay = self.make_relay()
        relay = self.relay
        self._spawn("relay", lambda: relay.run(self.stop_event))
        return relay

    def start_projector(self, source: ProjectionSource | None = None) -> ProjectionRunner:
        source = source or self.settings.effective_projection_source()
        self.runner = self.make_runner()
        runner = self.runner
        src = (
            self.make_kafka_source() if source is ProjectionSource.KAFKA else self.make_log_source()
        )
        beat = Heartbeat(self.db, "projector")
        self._spawn(
            f"projector-{src.name}", lambda: runner.run(src, self.stop_event, heartbeat=beat)
        )
        return runner

    @staticmethod
    def signer_of(settings: Settings) -> Signer:
        """The audit log's signing key (ADR 0026), named for its origin."""
        seed = load_key(settings.audit_signing_key, settings.data_dir, "audit-signing.key")
        return Signer.from_seed(settings.audit_origin, seed)

    def signer(self) -> Signer:
        return self.signer_of(self.settings)

    def make_audit_log(self) -> AuditLog:
        s = self.settings
        bootstrap = s.kafka_bootstrap_servers
        make_kafka = (
            (lambda: AuditKafka(bootstrap, s.kafka_topic_prefix, s.kafka_client_id))
            if bootstrap
            else None
        )
        audit = AuditLog(
            self.db,
            self.signer(),
            checkpoint_every=s.audit_checkpoint_events,
            checkpoint_seconds=s.audit_checkpoint_seconds,
            make_kafka=make_kafka,
        )
        audit.setup()
        return audit

    @staticmethod
    def witness_of(settings: Settings, name: str, folder: Path, log_key: str) -> KafkaWitness:
        """A witness of the log whose key is `log_key`, its state in `folder` (ADR 0026)."""
        assert settings.kafka_bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS is not set"
        return KafkaWitness(
            Witness.open(name, folder, log_key),
            settings.kafka_bootstrap_servers,
            settings.kafka_topic_prefix,
        )

    def start_audit_log(self) -> AuditLog:
        audit = self.make_audit_log()
        self._spawn("audit-log", lambda: audit.run(self.stop_event))
        return audit

    def timers(self) -> Timers:
        return Timers(self.db, self.entry, utc_now, self.settings.reading_history_days)

    def make_iso_outbox(self) -> IsoOutbox:
        """The ISO 18626 outbox (ADR 0028); needs the XSD folder in settings."""
        if self.iso_schemas is None or self.iso_peers is None:
            raise RuntimeError("LIBSHARE_ISO18626_XSD_DIR is not set: no ISO 18626 outbox")
        tls = outbox_tls(self.settings)
        outbox = IsoOutbox(
            self.db,
            self.reader,
            self.entry,
            self.iso_peers,
            self.iso_schemas,
            send_seconds=self.settings.iso18626_send_seconds,
            verify=tls.verify,
            identity=tls.identity,
            identities=tls.identities,
            isbns=self.work_isbns,
        )
        outbox.setup()
        return outbox

    def work_isbns(self, work: str) -> list[str]:
        return _isbns(self.db, work)

    def start_iso_outbox(self) -> IsoOutbox:
        outbox = self.make_iso_outbox()
        interval = self.settings.iso18626_outbox_interval_seconds
        self._spawn("iso-outbox", lambda: outbox.run(self.stop_event, interval))
        return outbox

    def start_timers(self) -> None:
        timers = self.timers()
        interval = self.settings.timer_interval_seconds
        self._spawn("timers", lambda: timers.run(self.stop_event, interval))

    def harvester(
        self, fetch: Fetch = oai_fetch, sources: dict[str, str] | None = None
    ) -> Harvester:
        """The OAI-PMH harvester of `sources` (default: the configured ones; ADR 0025)."""
        positions = HarvestPositions(self.db)
        positions.setup()
        chosen = self.settings.harvest_sources if sources is None else sources
        return Harvester(self.entry, positions, fetch, chosen, utc_now)

    def start_harvester(self) -> None:
        harvester = self.harvester()
        interval = self.settings.harvest_interval_seconds
        self._spawn("harvester", lambda: harvester.run(self.stop_event, interval))

    def start_workers(self) -> None:
        """The workers that `serve` runs in-process: the relay when Kafka is configured,
        the projector from the configured source, and the timers."""
        source = self.settings.effective_projection_source()
        if self.settings.kafka_bootstrap_servers:
            self.start_relay()
        if source is not ProjectionSource.NONE:
            self.start_projector(source)
        self.start_timers()
        if self.settings.audit_log:
            self.start_audit_log()
        if self.iso_schemas is not None:
            self.start_iso_outbox()
        if self.settings.harvest_sources:
            self.start_harvester()
        if self.settings.backup_dir is not None:
            self.start_backups()

    def start_backups(self, check_every: float = 60.0) -> BackupSchedule:
        """Scheduled backups into LIBSHARE_BACKUP_DIR, with retention (ADR 0024)."""
        schedule = BackupSchedule(self.db, self.settings, utc_now)
        self._spawn("backups", lambda: schedule.run(self.stop_event, check_every))
        return schedule

    def close(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        self.app.close()
        self.db.close()
        if self.embedded is not None:
            self.embedded.stop()


def _isbns(db: Database, work: str) -> list[str]:
    with db.transaction() as conn:
        return work_isbns(conn, work)


def bootstrap(settings: Settings | None = None, *, configure: bool = True) -> System:
    settings = settings or Settings()
    if configure:
        configure_logging(settings.log_level, settings.log_json)
        configure_tracing(settings)
    embedded = None
    url = settings.database_url
    if not url:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = embedded.url
    db = Database(url, settings.db_pool_size)
    app: NetworkApp | None = None
    reader_data_key = load_key(settings.reader_data_key, settings.data_dir, "reader-data.key")
    reader_keys = ReaderKeys(db, reader_data_key)
    try:
        db.open()
        for attempt in Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(multiplier=0.2, max=5),
            stop=stop_after_delay(settings.startup_retry_seconds),
            before_sleep=lambda s: log.warning(
                "event store not ready, retrying", attempt=s.attempt_number
            ),
            reraise=True,
        ):
            with attempt:
                app = NetworkApp(
                    env=event_store_env(url, db_functions=settings.event_store_db_functions),
                    reader_keys=reader_keys,
                )
        if app is None:  # (the Retrying loop either built it or raised)
            raise RuntimeError("the event store application was not built")

        def held(work: str) -> list[Candidate]:
            with db.transaction() as conn:
                return find_candidates(conn, work)

        candidates: CandidateFinder = held
        if settings.iso18626_lookups:  # the lookup hook of outside peers (ADR 0028)
            candidates = WithOutsideLookups(
                held,
                app,
                settings.iso18626_lookups,
                lambda work: _isbns(db, work),
                partial(
                    sru_count,
                    timeout=settings.iso18626_lookup_seconds,
                    verify=outbox_tls(settings).verify,
                ),
                timeout=settings.iso18626_lookup_seconds,
                cache=AnswerCache(settings.iso18626_lookup_cache_seconds),
            )

        partner_secrets = PartnerSecrets(db, load_key(settings.secrets_key, settings.data_dir))
        partner_secrets.setup()
        setup_audit_tables(db)  # the verifiable log's tables: its API reads them (ADR 0026)
        reader_keys.setup()
        credentials = Credentials(db)
        credentials.setup()
        catalogue = CatalogueService(app)
        idempotency = Idempotency(app)
        copies = CopiesService(app)
        transfers = TransfersService(app, idempotency, settings.transfer_network_approval_above)
        rotations = RotationsService(app, idempotency, transfers)
        shipments = ShipmentsService(app, StoredWaybills(app), transfers)
        partners = PartnersService(app, partner_secrets)
        accounts = AccountsService(app, credentials)
        readers = ReadersService(
            app,
            reader_keys,
            idempotency,
            # The readers' access keys: an HMAC under a key of their own, derived.
            hashlib.sha256(b"libshare:reader-access:" + reader_data_key).digest(),
            frozenset(code.upper() for code in settings.readers_instant_activation),
        )

        def open_requests_of(library: str) -> list[UUID]:
            with db.transaction() as conn:
                return open_requests_naming(conn, library)

        def staff_of(library: str) -> list[str]:
            with db.transaction() as conn:
                return usernames_of(conn, library)

        def stock_naming(library: str) -> tuple[list[str], list[UUID], list[UUID]]:
            with db.transaction() as conn:
                return (copies_naming(conn, library), *transfers_naming(conn, library))

        # What else moves when a library is merged or re-coded (ADR 0021): its copies, its
        # open transfers and its rotations (services/stock_moves.py).
        def in_transit_naming(library: str) -> list[UUID]:
            with db.transaction() as conn:
                return [UUID(str(s["id"])) for s in in_transit(conn, library)]

        movers: list[Mover] = [
            StockMover(app, stock_naming),
            ShipmentMover(app, in_transit_naming),
        ]
        reorganisation = ReorganisationService(app, open_requests_of, staff_of, movers)
        token_key = load_key(settings.token_key, settings.data_dir, "token.key")
        tokens = Tokens(token_key, settings.token_ttl_seconds)
        # Viewer links of digital loans: their own key, or one derived from the token key.
        link_key = (
            base64.b64decode(settings.viewer_link_key) if settings.viewer_link_key else token_key
        )
        digital = DigitalService(app, idempotency)
        digital_access = DigitalAccessService(
            app, ViewerLinks(link_key), FolderPages(pages_dir(settings))
        )
        requests = RequestsService(app, candidates, idempotency, copies, digital)
        iso_peers = IsoPeersService(
            app,
            partner_secrets,
            settings.iso18626_agency_id_type,
            frozenset(settings.iso18626_client_certs),
        )
        iso_inbound = IsoInbound(app, requests, idempotency)
        system = System(
            settings=settings,
            db=db,
            app=app,
            embedded=embedded,
            projections=all_projections(),
            reader=NotificationLogReader(app.mapper),
            tokens=tokens,
            credentials=credentials,
            candidate_finder=candidates,
            catalogue=catalogue,
            requests=requests,
            shipments=shipments,
            partners=partners,
            accounts=accounts,
            copies=copies,
            transfers=transfers,
            rotations=rotations,
            reorganisation=reorganisation,
            readers=readers,
            digital=digital,
            digital_access=digital_access,
            entry=Entry(
                catalogue=catalogue,
                copies=copies,
                transfers=transfers,
                rotations=rotations,
                requests=requests,
                shipments=shipments,
                partners=partners,
                accounts=accounts,
                reorganisation=reorganisation,
                readers=readers,
                digital=digital,
                digital_access=digital_access,
                clock=utc_now,
                iso_peers=iso_peers,
                iso_inbound=iso_inbound,
                catalogue_import=CatalogueImportService(app),
                history=HistoryService(app),
            ),
            iso_peers=iso_peers,
            iso_schemas=Schemas(settings.iso18626_xsd_dir) if settings.iso18626_xsd_dir else None,
        )
        return system
    except BaseException:
        # A half-built system holds pools, threads and perhaps a server: close them, so
        # that a worker waiting for the database does not pile them up attempt by attempt.
        if app is not None:
            app.close()
        db.close()
        if embedded is not None:
            embedded.stop()
        raise
