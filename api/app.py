"""The FastAPI application: routes, problem+json errors, request context, and the
lifespan that builds the system (or takes one from a test) and runs in-process workers."""

from __future__ import annotations

import sys as sys_module
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import accounts, context, openapi, problems, ui_gate, url_text
from api.accounts import router as accounts_router
from api.audit import router as audit_router
from api.audit_as_of import router as audit_as_of_router
from api.catalogue import router as catalogue_router
from api.catalogue_imports import router as catalogue_imports_router
from api.copies import router as copies_router
from api.digital import router as digital_router
from api.health import router as health_router
from api.iso18626 import router as iso18626_router
from api.libraries import router as libraries_router
from api.oai_pmh import router as oai_pmh_router
from api.partner_admin import router as partner_admin_router
from api.partners import install as install_partners
from api.partners import router as partners_router
from api.projections import router as projections_router
from api.read_your_writes import RecentWrites
from api.reader_digital import router as reader_digital_router
from api.readers import router as readers_router
from api.requests import router as requests_router
from api.rotations import router as rotations_router
from api.shipments import router as shipments_router
from api.sru import router as sru_router
from api.statistics import router as statistics_router
from api.transfers import router as transfers_router
from api.ui import router as ui_router
from api.ui_audit import router as ui_audit_router
from api.ui_audit_log import router as ui_audit_log_router
from api.ui_catalogue import router as ui_catalogue_router
from api.ui_desk import router as ui_desk_router
from api.ui_digital import router as ui_digital_router
from api.ui_parcels import router as ui_parcels_router
from api.ui_readers import router as ui_readers_router
from api.ui_rotations import router as ui_rotations_router
from api.ui_statistics import router as ui_statistics_router
from api.ui_transfers import router as ui_transfers_router
from composition.bootstrap import System, bootstrap
from composition.demo_network import load_demo_on_first_start
from infra.settings import Settings

UI_STATIC = Path(__file__).parent / "static"  # the web UI's styles: nothing from outside


def create_app(settings: Settings | None = None, system: System | None = None) -> FastAPI:
    """Build the API. With `system`, use it as is (tests); otherwise bootstrap from
    settings, load the demo on a first start and run the workers in-process if asked."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = system is None
        sys = system or bootstrap(settings or Settings())
        app.state.system = sys
        if owned:
            if sys.settings.load_demo:
                how_to_sign_in = load_demo_on_first_start(sys)
                if how_to_sign_in:
                    print(how_to_sign_in, file=sys_module.stderr, flush=True)
            if sys.settings.run_workers:
                sys.start_workers()
            else:  # the read models' tables, so that reads answer before any projector ran
                sys.make_runner()
        try:
            yield
        finally:
            if owned:
                sys.close()

    app = FastAPI(
        title="libshare",
        version="0.1.0",
        summary="Resource sharing for a province's libraries: interlibrary loans, "
        "transfers, postal shipments and digital lending, event-sourced.",
        lifespan=lifespan,
        # Our own middleware makes the server span and the request log line (api/context.py);
        # FastAPI's built-in spans per dependency and its metrics cost ~1 ms a request.
        telemetry={"tracing": False, "metrics": False, "operation_spans": False, "logs": False},
    )
    app.state.recent_writes = RecentWrites()
    problems.install(app)
    accounts.install(app)
    url_text.install(app)
    context.install(app)
    ui_gate.install(app)
    app.include_router(health_router)
    app.include_router(accounts_router)
    app.include_router(libraries_router)
    app.include_router(projections_router)
    app.include_router(requests_router)
    app.include_router(catalogue_router)
    app.include_router(statistics_router)
    app.include_router(partners_router)
    app.include_router(partner_admin_router)
    app.include_router(shipments_router)
    app.include_router(copies_router)
    app.include_router(transfers_router)
    app.include_router(rotations_router)
    app.include_router(reader_digital_router)  # before /readers/{reader_ref}/...
    app.include_router(readers_router)
    app.include_router(digital_router)
    app.include_router(audit_router)
    app.include_router(audit_as_of_router)
    app.include_router(iso18626_router)
    app.include_router(catalogue_imports_router)
    app.include_router(oai_pmh_router)
    app.include_router(sru_router)
    install_partners(app, system.settings if system else (settings or Settings()))
    app.include_router(ui_router)
    app.include_router(ui_readers_router)
    app.include_router(ui_catalogue_router)
    app.include_router(ui_statistics_router)
    app.include_router(ui_audit_router)
    app.include_router(ui_audit_log_router)
    app.include_router(ui_parcels_router)
    app.include_router(ui_transfers_router)
    app.include_router(ui_rotations_router)
    app.include_router(ui_digital_router)
    app.include_router(ui_desk_router)
    app.mount("/ui/static", StaticFiles(directory=UI_STATIC), name="ui-static")
    openapi.install(app)
    return app
