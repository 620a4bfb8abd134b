"""The operator's side of the controller: an HTTP API, a dashboard and Prometheus metrics,
served by the controller's own process on its own event loop.

`OperatorApi` (service.py) is what the controller holds; `app.py` builds the FastAPI
application from the routers; `views.py` turns the controller's state into the response
models of `schemas.py`; `station_config.py` is the sans-I/O core of remote configuration
(requests per OCPP version, answers read per parameter) and `remote.py` its asyncio shell.
"""
