"""The REST API (/api/...), /healthz and /metrics, on the Dash app's Flask server."""
from flask import Flask


def register_api(server: Flask) -> None:
    """Register the API's routes, error handlers and per-app state on the Flask server."""
    from api import ops, routes, sla, writes  # noqa: F401  sla and writes add their routes to routes.bp
    from api.errors import register_error_handlers
    from api.metrics import make_registry
    from runtime import EXTENSION_KEY
    from common.timeutil import utcnow

    runtime = server.extensions[EXTENSION_KEY]
    state = ops.ApiState(started_at=utcnow(), registry=make_registry(runtime.read_engine, runtime.config))
    server.extensions[ops.API_STATE_KEY] = state

    def rebuild_registry(config) -> None:
        """/metrics labels follow a reloaded config's servers."""
        state.registry = make_registry(runtime.read_engine, config)

    runtime.reload_listeners.append(rebuild_registry)
    server.register_blueprint(routes.bp)
    server.register_blueprint(ops.bp)
    register_error_handlers(server)
