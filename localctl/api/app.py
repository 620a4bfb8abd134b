"""The FastAPI application: routers behind the bearer token, the dashboard's static files,
/metrics and /openapi.json. Swagger UI is off: it loads its scripts from a CDN."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from localctl.api.auth import BearerAuth
from localctl.api.remote import StationOfflineError
from localctl.api.routes_control import control_router
from localctl.api.routes_state import state_router
from localctl.api.routes_stations import stations_router
from localctl.api.schemas import ErrorOut
from localctl.api.views import NotFoundError

if TYPE_CHECKING:
    from localctl.api.service import OperatorApi

API_PREFIX = "/api/v1"
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    404: {"model": ErrorOut, "description": "no such node, EVSE, station or limit"},
}


def create_app(api: OperatorApi, token: str) -> FastAPI:
    app = FastAPI(
        title="localctl operator API",
        version="1",
        description="The site, its EVSEs and stations, commands on the control loop, remote "
        "station configuration. Every call needs `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    secured = [Depends(BearerAuth(token))]
    for router in (state_router(api), control_router(api)):
        app.include_router(router, prefix=API_PREFIX, dependencies=secured, responses=_ERRORS)
    stations = {**_ERRORS, 409: {"model": ErrorOut, "description": "the station is offline"}}
    app.include_router(
        stations_router(api), prefix=API_PREFIX, dependencies=secured, responses=stations
    )
    _errors(app)

    @app.get("/metrics", dependencies=secured, include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(api.metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    static = files("localctl.api") / "static"
    app.mount("/dashboard", StaticFiles(directory=str(static), html=True), name="dashboard")
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StationOfflineError)
    def offline(request: Request, exc: StationOfflineError) -> JSONResponse:
        return JSONResponse({"detail": f"station {exc} is not connected"}, status_code=409)
