"""The librarians' web UI, rendered on the server from the read models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import system
from api.i18n import TEXT, language
from projections.libraries import list_libraries
from workers.bootstrap import System

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@router.get("/", response_class=HTMLResponse)
def home(request: Request, sys: Annotated[System, Depends(system)]) -> HTMLResponse:
    lang = language(request)
    with sys.db.transaction() as conn:
        libraries = list_libraries(conn)
    return templates.TemplateResponse(
        request,
        "libraries.html",
        {
            "t": TEXT[lang],
            "lang": lang,
            "other": "en" if lang == "vi" else "vi",
            "libraries": libraries,
        },
    )
