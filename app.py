"""The web app: Dash dashboard + REST API on one Flask server, with the collector embedded.

`python app.py [--config PATH] [--host 127.0.0.1] [--port 5000] [--no-collector] [--debug]`
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from flask import Flask
from flask_compress import Compress

from api.jsonprovider import OrjsonProvider
from collector.cli import base_dir, exit_on_config_error
from collector.logsetup import configure_logging
from runtime import EXTENSION_KEY, Runtime, read_engine_for
from runtime.services import Services
from settings import Config, load_config, validate_config
from storage import open_writer
from storage.writer import Writer

log = logging.getLogger("app")
HERE = Path(__file__).resolve().parent

# Scripts Dash puts on every page that this dashboard never needs: dash_table's bundle (no DataTable
# anywhere) and @babel/polyfill (34 KB gzip of ES2015-2017 shims that current browsers have natively).
# The polyfill's one part still used, the global regeneratorRuntime that Dash runs once a lazily loaded
# component (dcc.Graph, Dropdown, DatePicker) arrives, is also set by dash-bootstrap-components' bundle,
# which every page loads.
UNUSED_SCRIPTS = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/(?:deps/polyfill@|dash_table/)[^"]*">'
                            r'</script>\n?')


class MonitorApp(dash.Dash):
    """The dashboard's Dash app: an index page without UNUSED_SCRIPTS, and close() for what it started."""

    def interpolate_index(self, **kwargs):
        """The index page without the unused scripts (interpolate_index is Dash's hook for this)."""
        kwargs["scripts"] = UNUSED_SCRIPTS.sub("", kwargs["scripts"])
        return super().interpolate_index(**kwargs)

    def __call__(self, environ, start_response):
        """WSGI: the Flask server, so `gunicorn 'app:create_app()'` serves this app as it is."""
        return self.server(environ, start_response)

    @property
    def runtime(self) -> Runtime:
        """The objects this app's routes and callbacks share."""
        return self.server.extensions[EXTENSION_KEY]

    def close(self) -> None:
        """Stop every service this app started (last started first) and close the engines it opened."""
        runtime = self.runtime
        runtime.services.close()
        runtime.read_engine.dispose()
        if runtime.owns_writer:
            runtime.writer.engine.dispose()


def _as_config(config: Config | dict | str | None) -> Config:
    """Accept a Config, a dict (tests), a path, or None for ./config.json; raises ConfigError when invalid."""
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return validate_config(config, source=str(HERE / "config.json"))
    return load_config(config or os.environ.get(CONFIG_ENV) or "config.json")


def _build_runtime(config: Config, writer: Writer | None) -> Runtime:
    """The read-only engine, and the writer (creating the schema) unless the caller gives the process's own."""
    url = config.database_target(base_dir(config))
    runtime = Runtime(config=config, base_dir=base_dir(config), writer=writer or open_writer(url),
                      read_engine=read_engine_for(url), owns_writer=writer is None)
    runtime.services = Services(runtime)
    return runtime


# gunicorn -w 4 'app:create_app()': the config file to read, when not ./config.json.
CONFIG_ENV = "LATENCY_MONITOR_CONFIG"


def collector_wanted() -> bool:
    """False in a gunicorn worker (several web processes, collectors run as pinger.py) or with
    LATENCY_MONITOR_NO_COLLECTOR=1; True otherwise (python app.py, one process with its collector)."""
    return "gunicorn" not in sys.modules and os.environ.get("LATENCY_MONITOR_NO_COLLECTOR") != "1"


def create_app(config: Config | dict | str | None = None, *, start_collector: bool | None = None,
               collector_factory=None, writer: Writer | None = None) -> MonitorApp:
    """Build the Dash app (its Flask server is app.server); starts the collector and stale watcher when asked.

    start_collector None (the default): the collector unless collector_wanted() says no (a gunicorn worker), and
    the stale watcher in any case (it is stateless, so every worker may run one). Raises ConfigError for an
    invalid config. app.close() stops what it started."""
    config = _as_config(config)
    server = Flask(__name__)
    server.json = OrjsonProvider(server)
    # Compress pages, scripts and JSON (the plotly.js bundle is 1.0 MB raw, 0.37 MB compressed). Streamed
    # responses (the CSV export) stay uncompressed so they keep streaming instead of being buffered.
    server.config.update(COMPRESS_STREAMS=False, COMPRESS_ALGORITHM=["br", "gzip"])
    Compress(server)
    runtime = _build_runtime(config, writer)
    server.extensions[EXTENSION_KEY] = runtime
    # Everything is served from assets/ (vendored Bootstrap and icons): the page works with no internet.
    # update_title=None: the tab title must not flicker "Updating..." on every auto-refresh.
    app = MonitorApp(__name__, server=server, title="Latency Monitor",
                   external_stylesheets=[], serve_locally=True, assets_folder=str(HERE / "assets"),
                   update_title=None)
    from api import register_api
    from callbacks import register_callbacks
    from callbacks.shell import served_layout
    from layouts import validation_layout
    register_api(server)
    from security import install_security
    install_security(server, config)
    with server.app_context():  # Dash calls the layout once here to check it, which reads the config
        app.layout = served_layout
    app.validation_layout = validation_layout()  # pages: served_layout first, then callbacks.shell.route
    register_callbacks(app)
    embedded = collector_wanted() if start_collector is None else start_collector
    if embedded:
        runtime.services.start_collector(collector_factory)
    if embedded or start_collector is None:
        runtime.services.start_stale_watcher()
    if start_collector is None:  # a served app (gunicorn worker): draw the overview once per round
        start_prewarmer(app)
    return app


def start_prewarmer(app: MonitorApp) -> None:
    """Draw the overview's graphs in the background whenever a round lands (callbacks/prewarm.py)."""
    from callbacks.prewarm import Prewarmer
    app.runtime.services.adopt("prewarmer", Prewarmer(app.server))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options of the web app."""
    parser = argparse.ArgumentParser(prog="app.py", description="Latency monitor: dashboard, API and collector.")
    parser.add_argument("--config", default="config.json", help="path to config.json (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--no-collector", action="store_true", help="serve the UI and API only")
    parser.add_argument("--debug", action="store_true", help="Flask debug server with reloader (never in production)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages too")
    return parser.parse_args(argv)


def freeze_startup_objects() -> None:
    """Exempt everything built at startup from garbage collection passes (call once, before serving)."""
    # Dash, plotly, pandas and the layouts leave a few hundred thousand long-lived objects; without this
    # every full collection walks them again, an ~80 ms pause inside whichever callback triggered it.
    gc.collect()
    gc.freeze()


def start_services(app: MonitorApp, args: argparse.Namespace) -> None:
    """Start what `python app.py` runs beside the web server, in order: collector, stale and config watchers,
    prewarmer."""
    services = app.runtime.services
    # Under --debug the reloader's watcher process re-runs this file; only its child
    # (WERKZEUG_RUN_MAIN=true) serves requests, so only the child runs the collector.
    if args.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return
    if not args.no_collector:
        services.start_collector()
    services.start_stale_watcher()
    services.start_config_watcher()
    start_prewarmer(app)


def stop_on_sigterm() -> None:
    """SIGTERM ends serving like Ctrl-C does: waitress closes its sockets and main() closes the app."""
    def handler(signum, frame):  # noqa: ARG001 - the signal module's signature
        log.info("SIGTERM received: stopping")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def serve(app: MonitorApp, args: argparse.Namespace) -> None:
    """Serve until stopped: waitress with 8 threads, or Flask's reloader under --debug."""
    log.info("serving on http://%s:%d/ (collector %s)", args.host, args.port,
             "running" if app.runtime.collector else "off")
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True)
        return
    from waitress import serve as waitress_serve
    waitress_serve(app.server, host=args.host, port=args.port, threads=8)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python app.py`; exit status 2 for an invalid config."""
    args = parse_args(argv)
    with exit_on_config_error():
        config = load_config(args.config)
        app = create_app(config, start_collector=False)
    try:
        runtime = app.runtime
        configure_logging(runtime.writer, config.collector_name or socket.gethostname(), config.log_file,
                          args.verbose, runtime.base_dir)
        from security import check_startup
        check_startup(app.server, args.host, args.debug)  # warns on a non-loopback --host without auth
        start_services(app, args)
        freeze_startup_objects()
        stop_on_sigterm()
        serve(app, args)
    finally:
        app.close()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
