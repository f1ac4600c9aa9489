"""The web app: Dash dashboard + REST API on one Flask server, with the collector embedded.

`python app.py [--config PATH] [--host 127.0.0.1] [--port 5000] [--no-collector] [--debug]`
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import socket
import sys
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from flask import Flask
from flask_compress import Compress

from collector.cli import base_dir, load_or_exit
from settings import Config, load_config, validate_config
from collector.logsetup import configure_logging
from collector.service import Collector
from collector.notify import build_notifier
from collector.reload import ConfigWatcher
from collector.stale import StaleWatcher, default_interval
from collector.alerts import stale_rule
from collector.supervisor import Supervisor
from collector.instancelock import SingleInstanceLock, collector_lock_path
from api.jsonprovider import OrjsonProvider
from runtime import EXTENSION_KEY, Runtime, read_engine_for
from storage import open_writer

log = logging.getLogger("app")
HERE = Path(__file__).resolve().parent

# Scripts Dash puts on every page that this dashboard never needs: dash_table's bundle (no DataTable
# anywhere) and @babel/polyfill (34 KB gzip of ES2015-2017 shims that current browsers have natively).
# The polyfill's one part still used, the global regeneratorRuntime that Dash runs once a lazily loaded
# component (dcc.Graph, Dropdown, DatePicker) arrives, is also set by dash-bootstrap-components' bundle,
# which every page loads.
UNUSED_SCRIPTS = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/(?:deps/polyfill@|dash_table/)[^"]*">'
                            r'</script>\n?')


class LeanDash(dash.Dash):
    """dash.Dash whose index page leaves out UNUSED_SCRIPTS."""

    def interpolate_index(self, **kwargs):
        """The index page without the unused scripts (interpolate_index is Dash's hook for this)."""
        kwargs["scripts"] = UNUSED_SCRIPTS.sub("", kwargs["scripts"])
        return super().interpolate_index(**kwargs)


def _as_config(config: Config | dict | str | None) -> Config:
    """Accept a Config, a dict (tests), a path, or None for ./config.json; raises ConfigError when invalid."""
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return validate_config(config, source=str(HERE / "config.json"))
    return load_config(config or "config.json")


def _build_runtime(config: Config) -> Runtime:
    """Open the writer (creating the schema) and the read-only engine."""
    url = config.database_target(base_dir(config))
    writer = open_writer(url)
    return Runtime(config=config, base_dir=base_dir(config), writer=writer, read_engine=read_engine_for(url))


def start_embedded_collector(runtime: Runtime, collector_factory=None, *, supervise_every: float = 5.0) -> None:
    """Start the embedded collector (with its supervisor) unless another process already runs one."""
    lock = SingleInstanceLock(collector_lock_path(runtime.config, runtime.base_dir))
    if not lock.acquire():
        log.info("another process runs the collector on this database; this one serves the UI and API only")
        return
    runtime.extras["collector_lock"] = lock
    runtime.collector = (collector_factory or Collector)(runtime.config, runtime.writer).start()
    runtime.extras["supervisor"] = Supervisor(runtime.collector, interval_seconds=supervise_every).start()


def apply_config(server: Flask, config: Config) -> None:
    """Switch a running app to a reloaded config: routes, the metrics, the stale watcher and the collector."""
    from api.metrics import make_registry
    from api.ops import STATE_KEY
    runtime: Runtime = server.extensions[EXTENSION_KEY]
    runtime.config = config  # routes and callbacks read it on every request
    server.extensions[STATE_KEY].registry = make_registry(runtime.read_engine, config)
    watcher = runtime.extras.get("stale_watcher")
    if watcher is not None:
        # Plain attributes read on each check: the new servers and stale limit apply from the next one.
        watcher.config, watcher.rule = config, stale_rule(config.stale_after_seconds)
        watcher.interval_seconds = default_interval(config.stale_after_seconds)
    if runtime.collector is not None:
        runtime.collector.reload(config)


def start_config_watcher(server: Flask, interval_seconds: float | None = None) -> ConfigWatcher | None:
    """Reload the config file whenever it changes (None when the config did not come from a file)."""
    runtime: Runtime = server.extensions[EXTENSION_KEY]
    if not Path(runtime.config.source).is_file():
        return None
    options = {} if interval_seconds is None else {"interval_seconds": interval_seconds}
    watcher = ConfigWatcher(runtime.config.source, runtime.config, lambda c: apply_config(server, c), **options)
    runtime.extras["config_watcher"] = watcher.start()
    return watcher


def start_stale_watcher(runtime: Runtime) -> None:
    """Watch for stale servers from the web app, which keeps running when a collector does not."""
    notifier = runtime.collector.notifier if runtime.collector else build_notifier(runtime.config)
    if notifier is not None and runtime.collector is None:
        notifier.start()
    runtime.extras["stale_watcher"] = StaleWatcher(runtime.config, runtime.writer, runtime.read_engine,
                                                   notifier).start()


def create_app(config: Config | dict | str | None = None, *, start_collector: bool = True,
               collector_factory=None) -> dash.Dash:
    """Build the Dash app (its Flask server is app.server); starts the collector when asked."""
    config = _as_config(config)
    server = Flask(__name__)
    server.json = OrjsonProvider(server)
    # Compress pages, scripts and JSON (the plotly.js bundle is 1.0 MB raw, 0.37 MB compressed). Streamed
    # responses (the CSV export) stay uncompressed so they keep streaming instead of being buffered.
    server.config.update(COMPRESS_STREAMS=False, COMPRESS_ALGORITHM=["br", "gzip"])
    Compress(server)
    runtime = _build_runtime(config)
    server.extensions[EXTENSION_KEY] = runtime
    # Everything is served from assets/ (vendored Bootstrap and icons): the page works with no internet.
    # update_title=None: the tab title must not flicker "Updating..." on every auto-refresh.
    app = LeanDash(__name__, server=server, title="Latency Monitor", suppress_callback_exceptions=True,
                   external_stylesheets=[], serve_locally=True, assets_folder=str(HERE / "assets"),
                   update_title=None)
    from api import register_api
    from callbacks import register_callbacks
    from layouts import build_layout
    register_api(server)
    from security import install_security
    install_security(server, config)
    app.layout = build_layout
    register_callbacks(app)
    if start_collector:
        start_embedded_collector(runtime, collector_factory)
        start_stale_watcher(runtime)
    return app


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python app.py`."""
    args = parse_args(argv)
    config = load_or_exit(args.config)
    app = create_app(config, start_collector=False)
    runtime = app.server.extensions[EXTENSION_KEY]
    configure_logging(runtime.writer, config.collector_name or socket.gethostname(), config.log_file,
                      args.verbose, runtime.base_dir)
    from security import check_startup
    check_startup(app.server, args.host, args.debug)  # warns on a non-loopback --host without auth
    # Under --debug the reloader's watcher process re-runs this file; only its child
    # (WERKZEUG_RUN_MAIN=true) serves requests, so only the child runs the collector.
    if not args.debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        if not args.no_collector:
            start_embedded_collector(runtime)
        start_stale_watcher(runtime)
        start_config_watcher(app.server)
    freeze_startup_objects()
    log.info("serving on http://%s:%d/ (collector %s)", args.host, args.port,
             "running" if runtime.collector else "off")
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True)
    else:
        from waitress import serve
        serve(app.server, host=args.host, port=args.port, threads=8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
