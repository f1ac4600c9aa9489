"""`python pinger.py` / `python -m collector`: run the collector alone, forever or for one round."""
from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from settings import Config, ConfigError, load_config
from collector.instancelock import SingleInstanceLock, collector_lock_path
from collector.logsetup import configure_logging
from collector.reload import ConfigWatcher
from collector.errors import error_text, write_hint
from collector.service import Collector, RoundReport
from collector.supervisor import Supervisor
from storage import open_writer

log = logging.getLogger("collector")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options of the standalone collector."""
    parser = argparse.ArgumentParser(prog="pinger.py", description="Probe every configured server on a schedule.")
    parser.add_argument("--config", default="config.json", help="path to config.json (default: %(default)s)")
    parser.add_argument("--init-db", action="store_true", help="create or upgrade the database schema and exit")
    parser.add_argument("--once", action="store_true", help="run one round, print a summary table and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages too")
    return parser.parse_args(argv)


@contextlib.contextmanager
def exit_on_config_error():
    """Turn a ConfigError inside the block into its one-line-per-problem message and exit status 2.

    Only the command-line entry points use this; create_app() and the loaders raise ConfigError."""
    try:
        yield
    except ConfigError as exc:
        print(f"config error: {exc}".replace("\n", "\nconfig error: "), file=sys.stderr)
        raise SystemExit(2) from None


def load_or_exit(path: str) -> Config:
    """Load the config, or print its problems and exit with status 2."""
    with exit_on_config_error():
        return load_config(path)


def base_dir(config: Config) -> Path:
    """Relative paths in the config are relative to the config file's folder."""
    return Path(config.source).resolve().parent


def sip_cell(result) -> str:
    """A server's SIP check in the --once table: "up 200 80.4ms", "down timeout", or "-" without one."""
    if result is None:
        return "-"
    code = result.code if result.code is not None else result.failure
    ms = "" if result.response_avg_ms is None else f" {result.response_avg_ms:.1f}ms"
    return f"{result.status} {code}{ms}"


def format_report(report: RoundReport) -> str:
    """A fixed-width table of one round, a row per server (SIP: status, code, mean response time)."""
    head = f"{'partner':<16} {'country':<14} {'server':<24} {'avg ms':>8} {'loss %':>7} " \
           f"{'jitter':>7} {'class':<9} {'MOS':>4}  {'SIP':<26} error"
    from common.format import ms_number  # here, not at import: it loads pandas, which --help must not
    lines = [head, "-" * len(head)]
    for server, m in report.results:
        # Two significant figures below 1 ms: a loopback or LAN RTT would otherwise read "0.0".
        avg = "-" if m.avg_time is None else ms_number(m.avg_time)
        jit = "-" if m.jitter_time is None else ms_number(m.jitter_time)
        mos = "-" if m.mos is None else f"{m.mos:.2f}"
        lines.append(f"{server.partner[:16]:<16} {server.country[:14]:<14} {server.id[:24]:<24} "
                     f"{avg:>8} {m.loss_percentage:>7.1f} {jit:>7} {m.latency_class:<9} {mos:>4}  "
                     f"{sip_cell(report.sip.get(server.id)):<26} {m.error or ''}")
    lines.append(f"{len(report.results)} servers in {report.duration_seconds:.2f} s")
    return "\n".join(lines)


def run_forever(collector: Collector, watcher: ConfigWatcher | None = None) -> None:
    """Run until Ctrl-C or SIGTERM, then stop after the current round; reload the config file when it changes."""
    done = threading.Event()
    # Both signals only set the flag: no KeyboardInterrupt can land mid-write, and SIGINT works even when
    # the process was started with SIGINT ignored (a background job of a non-interactive shell).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    collector.start()
    log.info("collector %s started: %d servers every %s s", collector.name,
             len(collector.config.servers), collector.config.interval_seconds)
    supervisor = Supervisor(collector)  # checked from this loop: a dead collector thread is restarted
    if watcher is not None:
        watcher.start()
    while not done.wait(1.0):
        supervisor.check_once()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C while stopping still quits
    log.info("collector stopping")
    if watcher is not None:
        watcher.stop()
    collector.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    config = load_or_exit(args.config)
    try:
        writer = open_writer(config.database_target(base_dir(config)))
    except SQLAlchemyError as exc:  # opening also creates or upgrades the schema, so a full disk fails here
        reason = error_text(exc)
        print(f"cannot open the database {config.database_target(base_dir(config))}: {reason}{write_hint(reason)}",
              file=sys.stderr)
        return 1
    if args.init_db:
        print(f"database ready at {config.database_target(base_dir(config))}")
        return 0
    collector = Collector(config, writer)
    configure_logging(writer, collector.name, config.log_file, args.verbose, base_dir(config))
    if args.once:
        report = collector.run_round()
        print(format_report(report))
        if report.round_id is None:  # measured, but the database refused it (the reason is logged above)
            print(f"round not stored: {collector.last_error}", file=sys.stderr)
            return 1
        return 0
    lock = SingleInstanceLock(collector_lock_path(config, base_dir(config)))
    if not lock.acquire():
        print(f"another collector already runs on this database (lock {lock.path}); not starting a second one",
              file=sys.stderr)
        return 1
    try:
        run_forever(collector, ConfigWatcher(config.source, config, collector.reload))
    finally:
        lock.release()
    return 0
