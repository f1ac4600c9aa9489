"""Shared helpers of the benchmarks: paths, timing statistics, CPU and memory readings, result tables."""
from __future__ import annotations

import gzip
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
RESULTS = OUT / "results"


@dataclass
class Figure:
    """One reported figure: what was measured, its value, the target and whether it is met."""

    area: str
    name: str
    value: str
    target: str = ""
    status: str = ""  # "met", "MISSED", or "" when there is no target

    @classmethod
    def check(cls, area: str, name: str, value: float, limit: float | None, fmt: str = "{:.1f}",
              unit: str = "", higher_is_better: bool = False, target: str | None = None) -> "Figure":
        """A figure compared with a numeric limit (at most, or at least when higher_is_better)."""
        shown = fmt.format(value) + unit if value == value else "n/a"
        if limit is None or value != value:
            return cls(area, name, shown, target or "", "")
        ok = value >= limit if higher_is_better else value <= limit
        text = target or (f"≥ {fmt.format(limit)}{unit}" if higher_is_better else f"≤ {fmt.format(limit)}{unit}")
        return cls(area, name, shown, text, "met" if ok else "MISSED")


def out_dir(*parts: str) -> Path:
    """A directory under bench/out (created)."""
    path = OUT.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def percentiles_ms(seconds: Iterable[float]) -> dict[str, float]:
    """Median, p95, min and run count of durations given in seconds, in ms."""
    values = np.asarray(list(seconds), dtype=float) * 1000
    if values.size == 0:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "min_ms": float("nan"), "n": 0}
    return {"p50_ms": float(np.median(values)), "p95_ms": float(np.percentile(values, 95)),
            "min_ms": float(values.min()), "n": int(values.size)}


def repeat(fn: Callable[[], Any], runs: int, budget_s: float = float("inf"),
           min_runs: int = 3) -> tuple[list[float], Any]:
    """Call fn up to `runs` times (fewer once `budget_s` is spent, at least `min_runs`); (durations, last result)."""
    durations, result, spent = [], None, 0.0
    for i in range(runs):
        if i >= min_runs and spent >= budget_s:
            break
        t0 = time.perf_counter()
        result = fn()
        durations.append(time.perf_counter() - t0)
        spent += durations[-1]
    return durations, result


def gzip_size(data: bytes) -> int:
    """Size of data gzip-compressed at level 6 (what a web server's gzip typically sends)."""
    return len(gzip.compress(data, compresslevel=6))


def proc_memory_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in MB, from /proc."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(rest.split()[0]) / 1024
    return found


def cpu_snapshot() -> tuple[float, float]:
    """(own CPU seconds, terminated-and-waited children's CPU seconds), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def cpu_since(before: tuple[float, float]) -> dict[str, float]:
    """CPU seconds spent since a cpu_snapshot(): own, children and their sum."""
    own, kids = cpu_snapshot()
    return {"own_cpu_s": own - before[0], "children_cpu_s": kids - before[1],
            "cpu_s": (own - before[0]) + (kids - before[1])}


def machine_info() -> dict[str, str]:
    """The machine the figures come from: cores, memory, CPU model, Python, SQLite, date."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"nproc": str(os.cpu_count()), "memory": f"{int(mem.split()[0]) / 1024 / 1024:.1f} GiB",
            "cpu": model, "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "kernel": platform.release(),
            "load avg 1/5/15 min": " / ".join(f"{x:.1f}" for x in os.getloadavg()), "code": code_version()}


def code_version() -> str:
    """The checked-out commit, and how many files outside bench/ differ from it (read-only git calls)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()
    # Not through git(): its strip() would eat the first entry's blank status column ("XY path").
    status = subprocess.run(["git", "status", "--porcelain", "-z"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout
    changed = [entry for entry in status.split("\0") if entry and not entry[3:].startswith("bench/")]
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (f" + {len(changed)} uncommitted files outside bench/" if changed else "")


def save_results(name: str, data: dict) -> Path:
    """Write one benchmark's results as JSON under bench/out/results/ (run_all reads them back)."""
    path = out_dir("results") / f"{name}.json"
    path.write_text(json.dumps({**data, "machine": machine_info()}, indent=2, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    """JSON for dataclasses, numpy numbers and paths."""
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)


def markdown_table(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def figures_table(figures: Iterable[Figure | dict]) -> str:
    """The figures-vs-targets markdown table."""
    rows = [f if isinstance(f, dict) else asdict(f) for f in figures]
    return markdown_table(["area", "figure", "value", "target", "status"],
                          [(r["area"], r["name"], r["value"], r["target"], r["status"]) for r in rows])


def run_python(args: list[str], timeout: float | None = None) -> int:
    """Run a Python script of this repo in a child process (inheriting stdout); its exit code."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, timeout=timeout, check=False).returncode


def log(message: str) -> None:
    """Progress on stderr, flushed, so tables on stdout stay clean."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
