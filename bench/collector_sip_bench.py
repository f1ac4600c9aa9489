"""A whole collector round (probe, rows, one write, alerts) with 1,000 SIP servers (issue 14).

    python bench/collector_sip_bench.py [--servers 1000] [--sipp 4] [--pause-ms 80] [--count 4] [--timeout 5]
                                        [--probe sip|fping] [--repeats 3]

Needs root, network namespaces (tests/netlab.py) and sipp; the lab and the SIPp UAS set are those of
bench/sip_bench.py (server i is 10.78.x.y:(5060 + i mod N), answered 200 after the pause). Each server is
``"probe": "sip"`` (SIP only) or, with ``--probe fping``, ``"sip": true`` beside an fping probe of the same
address. Collector.run_round() runs against a fresh SQLite file. Figures: wall time of the round, CPU of
this process and of SIPp, rows stored, and the response time error against the pause and against SIPp's
held time (bench/sip_bench.py explains the two).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bench.common import cpu_since, cpu_snapshot, log, machine_info, markdown_table, save_results
from bench.sip_bench import BASE_PORT, DEFAULT_COUNT, DEFAULT_TIMEOUT_S, accuracy, proc_cpu_s
from collector.service import Collector
from settings import validate_config
from storage import open_writer
from storage.schema import sip_results
from tests.conftest import make_config_dict
from tests.netlab import NetLab, netlab_available
from tests.sipp import SippUas, sipp_available, uas_scenario


def lab_config(tmp: Path, servers: int, sipps: int, args: argparse.Namespace):
    """A config of `servers` SIP servers of the lab."""
    entries = []
    for i in range(servers):
        entry = {"partner": f"P{i % 50}", "country": f"C{i % 20}", "ip": NetLab.address(i), "dn_ext": "",
                 "sip": {"port": BASE_PORT + i % sipps}}
        entry["probe"] = args.probe
        entries.append(entry)
    data = make_config_dict(tmp, servers=entries, ping_count=args.count, ping_timeout=args.timeout,
                            max_concurrent_probes=256, interval_seconds=60)
    return validate_config(data, source=str(tmp / "config.json"))


def one_round(collector: Collector, sipps: list[SippUas], pause_ms: float) -> dict:
    """One collector round, measured."""
    sipp_before = sum(proc_cpu_s(s.proc.pid) for s in sipps)
    before, started = cpu_snapshot(), time.perf_counter()
    report = collector.run_round()
    wall_s = time.perf_counter() - started
    cpu = cpu_since(before)
    return {"wall_s": wall_s, "own_cpu_s": cpu["own_cpu_s"], "children_cpu_s": cpu.get("children_cpu_s"),
            "sipp_cpu_s": sum(proc_cpu_s(s.proc.pid) for s in sipps) - sipp_before,
            "stored": report.round_id is not None, **accuracy(report.sip, pause_ms)}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--sipp", type=int, default=4)
    parser.add_argument("--pause-ms", type=int, default=80)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--probe", choices=("sip", "fping"), default="sip")
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    ok, why = netlab_available()
    if not ok or not sipp_available():
        print(f"cannot run: {why if not ok else 'sipp is not installed'}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="collector-sip-bench-"))
    scenario = uas_scenario(pause_ms=args.pause_ms, stamp_hold=True)
    rows, sipps = [], []
    with NetLab({}) as lab:
        try:
            for i in range(args.sipp):
                (tmp / f"uas{i}").mkdir()
                sipps.append(SippUas(scenario, port=BASE_PORT + i, host=lab.ns_ip, netns=lab.namespace,
                                     workdir=tmp / f"uas{i}",
                                     extra_args=["-buff_size", "4194304", "-max_recv_loops", "10000"]).start())
            config = lab_config(tmp, args.servers, args.sipp, args)
            writer = open_writer(config.database_target())
            collector = Collector(config, writer, auto_kind="fping")
            collector.run_round()  # warm-up: SIPp's first calls, the lab's neighbour entries, the schema
            rows = [one_round(collector, sipps, args.pause_ms) for _ in range(args.repeats)]
            with writer.engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(sip_results)).scalar_one()
            writer.engine.dispose()
        finally:
            for uas in sipps:
                uas.stop()
    for row in rows:
        log(f"wall {row['wall_s']:.2f} s, own CPU {row['own_cpu_s']:.2f} s, SIPp CPU {row['sipp_cpu_s']:.2f} s, "
            f"error vs pause median {row['median_error_vs_pause_ms']:+.2f} p95 {row['p95_abs_error_vs_pause_ms']:.2f}"
            f" ms, vs held median {row['median_error_vs_held_ms']:+.2f} p95 {row['p95_abs_error_vs_held_ms']:.2f} ms,"
            f" loss {row['loss_pct']:.3f} %, not up {row['not_up']}")
    headers = ["wall s", "own CPU s", "SIPp CPU s", "err vs pause median / p95 ms", "err vs held median / p95 ms",
               "loss %", "not up"]
    print(f"\n{args.servers} servers ({args.probe}{' + sip' if args.probe != 'sip' else ''}), {args.count} OPTIONS "
          f"each, pause {args.pause_ms} ms; {stored} sip_results rows stored over {args.repeats + 1} rounds\n")
    print(markdown_table(headers, [[f"{r['wall_s']:.2f}", f"{r['own_cpu_s']:.2f}", f"{r['sipp_cpu_s']:.2f}",
                                    f"{r['median_error_vs_pause_ms']:+.2f} / {r['p95_abs_error_vs_pause_ms']:.2f}",
                                    f"{r['median_error_vs_held_ms']:+.2f} / {r['p95_abs_error_vs_held_ms']:.2f}",
                                    f"{r['loss_pct']:.3f}", r["not_up"]] for r in rows]))
    save_results("collector_sip_bench", {"args": vars(args), "machine": machine_info(), "rows": rows,
                                         "sip_rows_stored": stored})
    return 0


if __name__ == "__main__":
    sys.exit(main())
