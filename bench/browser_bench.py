"""The dashboard as a user's browser runs it (issue 12): cold loads, long tasks and auto-refresh cost in Chromium.

    python bench/browser_bench.py [--sizes 200,1000] [--days 2] [--fresh] [--loads 3] [--refreshes 3] [--profile]
                                  [--label after] [--timeout 240] [--window 1600x1200]

For each size it serves a generated history (bench/out/history-<N>x<D>d-60s.db, made by bench/generate.py
when missing) with `python app.py --no-collector` (so the stale watcher runs, as in production), opens it in
headless Chromium through chromedriver and measures, relative to navigation start:

- when the first series graph has data, and when every panel has content (counts, servers, alerts, log,
  the three series graphs and the RTT spread), from a poller injected before any page script runs;
- every main-thread task over 50 ms (a `longtask` PerformanceObserver, buffered from navigation);
- the main-thread time of each auto-refresh (CDP Performance.getMetrics TaskDuration over refresh periods):
  first with nothing new in the database, then with a new round written just before each refresh;
- a server page's load after the overview's (its history graph, then every panel);
- both --loads times, each in a fresh browser profile, reporting the median and the range (one load varies by
  ±20 % on 2 cores, where Chromium and the app share the CPU);
- with --profile, CDP CPU profiles of a second load of the overview and of one auto-refresh with nothing new and
  one with a new round, summarised by script.

`--fresh` appends the rounds missing up to now first (no stale alerts); without it a history older than
stale_after_seconds gets one open stale alert per server from the app's stale watcher, the heavier case.
Screenshots go to bench/out/browser/, results to bench/out/results/browser[-label].json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import generate, synth
from bench.common import ROOT, Figure, figures_table, log, machine_info, markdown_table, out_dir, save_results
from common.timeutil import utcnow
from storage import open_writer

TARGET_FIRST_GRAPH_S = 1.5
TARGET_ALL_PANELS_S = 3.0
TARGET_LONGEST_TASK_MS = 200
TARGET_REFRESH_MS = 100
# The default overview's (24 h) bucket, the graphs' and the RTT spread's alike: each redraws as one ends.
BUCKET_24H_S = 300
TARGET_SERVER_PAGE_S = 1.5
INTERVAL_S = 60.0
REFRESH_KEY = "_dash_persistence.lm-refresh-select.value.true"  # where Dash persists the refresh choice

# Injected before any page script (CDP Page.addScriptToEvaluateOnNewDocument): long tasks from navigation
# start, every Dash callback request with its timing, and the first time each panel has content.
PROBE_JS = r"""
(function () {
  var b = window.__lmb = {lt: [], req: [], marks: {}};
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (e) { b.lt.push([e.startTime, e.duration]); });
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { b.noLongtask = String(e); }
  var realFetch = window.fetch;
  window.fetch = function (url) {
    var rec = {url: String(url && url.url || url), start: performance.now()};
    try { rec.out = String(JSON.parse(arguments[1].body).output).slice(0, 60); } catch (e) { rec.out = '?'; }
    if (rec.url.indexOf('_dash-update-component') >= 0) { b.req.push(rec); }
    return realFetch.apply(this, arguments).then(function (r) {
      rec.end = performance.now(); rec.status = r.status; return r;
    }, function (err) { rec.end = performance.now(); rec.error = String(err); throw err; });
  };
  function plot(sel) { return document.querySelector(sel + ' .js-plotly-plot'); }
  function hasPoints(gd) {
    return !!(gd && gd.data && gd.data.some(function (t) {
      var v = t.x || t.y || t.z; return v && (v.length > 0 || (v.bdata && v.bdata.length > 0));
    }));
  }
  function drawn(sel) {  // a figure with data, or a message figure (annotation, no traces)
    var gd = plot(sel);
    return !!(gd && gd._fullLayout && (hasPoints(gd) || (gd.layout && gd.layout.annotations &&
                                                          gd.layout.annotations.length)));
  }
  function filled(sel) { var el = document.querySelector(sel); return !!(el && el.firstElementChild); }
  // content of the panel itself, not an empty component waiting for its first data
  function some(sel, inner) {
    return !!document.querySelector(inner.split(',').map(function (i) { return sel + ' ' + i.trim(); }).join(','));
  }
  var checks = {
    overview: {
      counts: function () { return !!document.querySelector('#lm-counts .lm-count'); },
      servers: function () {
        return !!document.querySelector('#lm-cards .lm-server-card, #lm-cards .lm-tile, #lm-cards .alert');
      },
      alerts: function () { return some('#lm-warnings', '.lm-warn, .lm-empty, .alert'); },
      log: function () { return some('#lm-log-table', '.lm-log-entry, .lm-empty, .alert'); },
      latency: function () { return drawn('#lm-latency-graph'); },
      loss: function () { return drawn('#lm-loss-graph'); },
      jitter: function () { return drawn('#lm-jitter-graph'); },
      spread: function () { return drawn('#lm-smoke-graph'); },
      first_graph: function () {
        return ['#lm-latency-graph', '#lm-loss-graph', '#lm-jitter-graph'].some(function (s) {
          return hasPoints(plot(s));
        });
      }
    },
    server: {
      header: function () { return !!document.querySelector('#lm-server-header .lm-server-title'); },
      history: function () { return hasPoints(plot('#lm-server-history')); },
      distribution: function () { return drawn('#lm-server-distribution'); },
      rounds: function () { return some('#lm-server-rounds', 'table, .lm-empty, .alert'); },
      concerns: function () { return filled('#lm-server-concerns'); },
      log: function () { return some('#lm-server-logs', '.lm-log-entry, .lm-empty, .alert'); }
    }
  };
  var timer = setInterval(function () {
    var page = location.pathname.indexOf('/server/') === 0 ? 'server' : 'overview';
    var want = checks[page], left = 0;
    Object.keys(want).forEach(function (k) {
      if (b.marks[k] === undefined) { if (want[k]()) { b.marks[k] = performance.now(); } else { left++; } }
    });
    if (!left || performance.now() > 600000) { clearInterval(timer); b.done = performance.now(); }
  }, 40);
}());
"""
OVERVIEW_PANELS = ("counts", "servers", "alerts", "log", "latency", "loss", "jitter", "spread")
SERVER_PANELS = ("header", "history", "distribution", "rounds", "concerns", "log")


# ------------------------------------------------------------------------------------------ the app

def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """`python app.py --config ... --no-collector` in a child process, stopped by its pid."""

    def __init__(self, config: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = out_dir("browser") / f"app-{self.port}.log"
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "app.py", "--config", str(config), "--no-collector",
                                      "--port", str(self.port)], cwd=ROOT, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5):
                    return
            except urllib.error.HTTPError:  # a 503 (no collector here) still means it is serving
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("app.py did not answer /healthz within 120 s")

    def open_alerts(self) -> int:
        """How many alerts are open now (the stale watcher opens one per stale server)."""
        with urllib.request.urlopen(self.base + "/api/alerts?state=open", timeout=60) as r:
            body = json.loads(r.read())
        return len(body.get("alerts", body) if isinstance(body, dict) else body)

    def stop(self) -> None:
        """Terminate the child (ours, by pid) and wait for it."""
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


# -------------------------------------------------------------------------------------- the browser

def chromium_binary() -> str:
    """Chromium as the browser tests find it (DASH_TEST_CHROMEPATH first)."""
    found = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("no Chromium: apt-get install chromium chromium-driver, or set DASH_TEST_CHROMEPATH")
    return found


def start_browser(width: int, height: int):
    """Headless Chromium through chromedriver, with the probe script injected into every document."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--window-size={width},{height}", "--disable-renderer-backgrounding",
                "--disable-background-timer-throttling"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_script_timeout(60)
    driver.execute_cdp_cmd("Performance.enable", {"timeDomain": "threadTicks"})
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE_JS})
    return driver


def task_ms(driver) -> float:
    """Main-thread task time of the page so far (CDP Performance.getMetrics TaskDuration), in ms."""
    metrics = driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    return 1000 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def probe(driver) -> dict:
    """What the injected probe has recorded so far."""
    return driver.execute_script("return window.__lmb ? JSON.parse(JSON.stringify(window.__lmb)) : null") or {}


def wait_loaded(driver, panels: tuple, timeout_s: float) -> dict:
    """Poll (every 0.5 s, from outside the page) until every panel has a mark, the probe gave up, or timeout."""
    deadline = time.time() + timeout_s
    data = {}
    while time.time() < deadline:
        data = answer(lambda: probe(driver), None) or data
        if data.get("done") or all(p in data.get("marks", {}) for p in panels):
            break
        time.sleep(0.5)
    return data


def settle(driver, quiet_s: float = 2.0, timeout_s: float = 120) -> None:
    """Wait until no callback request has been in flight for quiet_s seconds."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        reqs = probe(driver).get("req", [])
        now = driver.execute_script("return performance.now()")
        busy = [r for r in reqs if "end" not in r]
        last = max([r.get("end", now) for r in reqs] or [0])
        if not busy and now - last > quiet_s * 1000:
            return
        time.sleep(0.5)


def load_figures(data: dict, panels: tuple, first_key: str | None) -> dict:
    """Seconds to each panel, the first graph and all panels, long tasks and callback requests of one load."""
    marks = {k: v / 1000 for k, v in data.get("marks", {}).items()}
    done = data.get("done")
    long_tasks = [d for _, d in data.get("lt", [])]
    window_ms = max(marks.values(), default=0) * 1000 + 500
    load_tasks = [d for s, d in data.get("lt", []) if s <= window_ms]
    missing = [p for p in panels if p not in marks]
    return {"panels_s": {p: marks.get(p) for p in panels}, "first_graph_s": marks.get(first_key) if first_key else None,
            "all_panels_s": None if missing else max(marks[p] for p in panels), "missing": missing,
            "longest_task_ms": max(load_tasks, default=0.0), "long_tasks": len(load_tasks),
            "long_task_ms_total": sum(load_tasks), "all_long_tasks": len(long_tasks),
            "requests": len(data.get("req", [])), "gave_up": bool(done) and bool(missing),
            # each long task of the load: start and duration (ms from navigation), to set beside the requests
            "long_task_log": [[round(s), round(d)] for s, d in data.get("lt", []) if s <= window_ms],
            # each callback request of the load: its output, start and time to answer (ms from navigation)
            "request_log": [[r.get("out"), round(r["start"]), round(r.get("end", r["start"]) - r["start"])]
                            for r in data.get("req", []) if r["start"] <= window_ms]}


# ----------------------------------------------------------------------------------------- scenarios

def cold_overview(driver, app: App, timeout_s: float, shot: Path, refresh_s: int) -> dict:
    """First load of / in a fresh profile, with the auto-refresh period stored beforehand as Dash keeps it."""
    driver.get(app.base + "/healthz")  # same origin, so the stored refresh choice applies to the dashboard
    if refresh_s != 30:
        driver.execute_script("localStorage.setItem(arguments[0], arguments[1])", REFRESH_KEY,
                              json.dumps([str(refresh_s), "30"]))
    before = task_ms(driver)
    driver.get(app.base + "/")
    data = wait_loaded(driver, OVERVIEW_PANELS + ("first_graph",), timeout_s)
    result = load_figures(data, OVERVIEW_PANELS, "first_graph")
    result["main_thread_ms"] = answer(lambda: task_ms(driver) - before, float("nan"))
    result["dom_elements"] = answer(lambda: driver.execute_script("return document.getElementsByTagName('*').length"), 0)
    result["load_requests"] = answer(lambda: len(probe(driver).get("req", [])), 0)
    answer(lambda: driver.save_screenshot(str(shot)), None)
    return result


def answer(read, default):
    """read(), or default when the page does not answer (a renderer busy for minutes times chromedriver out)."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - the figure is then reported as missing, not the run lost
        log(f"browser: the page did not answer ({type(exc).__name__}); that reading is missing")
        return default


def page_clock(driver) -> float:
    """The page's performance.now() in ms."""
    return driver.execute_script("return performance.now()")


def refresh_ticks(driver) -> list[float]:
    """Page times (ms) at which refresh bursts of callback requests started (a gap of 3 s or more before)."""
    starts = sorted(r["start"] for r in probe(driver).get("req", []))
    ticks, last = [], -1e9
    for s in starts:
        if s - last > 3000:
            ticks.append(s)
        last = s
    return ticks


def next_tick(driver, period_ms: float) -> float:
    """The page time of the next auto-refresh, extrapolated from the ones seen (the interval is regular)."""
    ticks, now = refresh_ticks(driver), page_clock(driver)
    base = ticks[-1] if ticks else now
    while base <= now + 1500:
        base += period_ms
    return base


def wait_page_time(driver, target_ms: float) -> None:
    """Sleep until the page clock reaches target_ms."""
    time.sleep(max(0.0, (target_ms - page_clock(driver)) / 1000))


def refresh_cost(driver, period_s: float, writes, count: int) -> list[dict]:
    """Main-thread ms and long tasks of `count` auto-refreshes inside a bucket (none the first after a 24 h graph
    bucket ends: tick_after_bucket's case, timed apart); writes() (or None) stores a round before each."""
    period_ms = period_s * 1000
    return [tick_cost(driver, lambda: tick_inside_bucket(driver, period_ms, BUCKET_24H_S), period_ms, writes)
            for _ in range(count)]


def tick_inside_bucket(driver, period_ms: float, bucket_s: int) -> float:
    """The page time of the next tick that no bucket end precedes within a period (and 1 s): a refresh whose
    graphs have nothing new to draw."""
    offset, tick = wall_offset_ms(driver), next_tick(driver, period_ms)
    while (tick + offset) % (bucket_s * 1000) < period_ms + 1000:
        tick += period_ms
    return tick


def wall_offset_ms(driver) -> float:
    """The wall clock (ms since the epoch) minus the page clock."""
    before = time.time() * 1000
    page = page_clock(driver)
    return (before + time.time() * 1000) / 2 - page


def tick_after_bucket(driver, period_ms: float, bucket_s: int) -> float:
    """The page time of the next tick that is the first after one of the graphs' buckets became whole (the
    boundary at least 1 s before it, so the server sees it): the refresh where the series graphs redraw."""
    offset, tick = wall_offset_ms(driver), next_tick(driver, period_ms)
    while not 1000 <= (tick + offset) % (bucket_s * 1000) < period_ms:
        tick += period_ms
    return tick


def tick_cost(driver, pick_tick, period_ms: float, writes) -> dict:
    """Main-thread ms, longest task and callback requests of the auto-refresh period starting at pick_tick()'s
    page time; writes() (or None) stores a round 6 s before it."""
    tick = pick_tick()
    if writes:
        wait_page_time(driver, tick - 6000)
        writes()
        if page_clock(driver) > tick - 800:  # the write took longer than planned: time the next one
            tick = next_tick(driver, period_ms)
    wait_page_time(driver, tick - 800)
    start_clock = page_clock(driver)
    start_ms = task_ms(driver)
    # Slept without asking the page the time, and the main-thread total read before the probe's script runs:
    # the benchmark's own scripts are page tasks too (the probe's serialises every request seen so far).
    time.sleep(max(0.0, (tick + period_ms - 800 - start_clock) / 1000))
    main_ms = task_ms(driver) - start_ms
    data = probe(driver)
    tasks = [d for s, d in data.get("lt", []) if start_clock <= s]
    reqs = [r for r in data.get("req", []) if r["start"] >= start_clock]
    return {"main_thread_ms": main_ms, "longest_task_ms": max(tasks, default=0.0),
            "requests": len(reqs), "new_round": bool(writes),
            "request_log": [[r.get("out"), r.get("status"), round(r.get("end", r["start"]) - r["start"])]
                            for r in reqs]}


def idle_period(driver, period_s: float) -> dict:
    """Main-thread ms of one refresh period with the auto-refresh off (set as the pause switch does): what the
    page's own timers cost (the wall's 1 s tick, the age warning), which every timed period above includes."""
    driver.execute_script("window.dash_clientside.set_props('lm-refresh', {disabled: true});")
    time.sleep(2)
    start_clock, start_ms = page_clock(driver), task_ms(driver)
    time.sleep(period_s)
    main_ms = task_ms(driver) - start_ms
    reqs = [r for r in probe(driver).get("req", []) if r["start"] >= start_clock]
    driver.execute_script("window.dash_clientside.set_props('lm-refresh', {disabled: false});")
    return {"main_thread_ms": main_ms, "longest_task_ms": 0.0, "requests": len(reqs), "new_round": False}


def refresh_profile(driver, period_s: float, path: Path, writes=None) -> dict:
    """A CPU profile (1 ms sampling) of one auto-refresh period (with a new round written first when writes is
    given): self time by script, and the busiest functions."""
    period_ms = period_s * 1000
    tick = next_tick(driver, period_ms)
    if writes:
        wait_page_time(driver, tick - 6000)
        writes()
    wait_page_time(driver, tick - 800)
    driver.execute_cdp_cmd("Profiler.enable", {})
    driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 1000})
    driver.execute_cdp_cmd("Profiler.start", {})
    wait_page_time(driver, tick + period_ms - 800)
    profile = driver.execute_cdp_cmd("Profiler.stop", {})["profile"]
    path.write_text(json.dumps(profile))
    return dict(profile_summary(profile), top=top_functions(profile))


def top_functions(profile: dict, count: int = 12) -> list[list]:
    """The functions with the most self time: [ms, function, script file]."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    totals: dict[tuple, float] = {}
    for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
        frame = nodes[sample]["callFrame"]
        if frame.get("functionName") == "(idle)":
            continue
        key = (frame.get("functionName") or "(anonymous)", frame.get("url", "").rsplit("/", 1)[-1].split("?")[0])
        totals[key] = totals.get(key, 0.0) + delta / 1000
    return [[round(ms, 1), *key] for key, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:count]]


def round_writer(database: Path, servers: int, seed: int = 1):
    """A function storing one round of every server, timed now, through the project's write path (as
    bench/generate.py builds rounds); and the writer, to dispose of afterwards."""
    frame = synth.build_servers(servers, seed)
    config = generate.config_dict(frame, database, INTERVAL_S)
    writer = open_writer(f"sqlite:///{database}")

    def write() -> None:
        at = utcnow()
        plan = generate.make_plan(config, frame, (at - generate.EPOCH).total_seconds(), 1, INTERVAL_S, seed)
        generate._init_worker(plan)  # chunk_rounds reads the plan a worker process would hold
        rounds, _ = generate.chunk_rounds(plan.chunks[0])
        writer.write_rounds(generate.COLLECTOR, rounds)
    return write, writer


def server_page(driver, app: App, server_id: str, timeout_s: float, shot: Path) -> dict:
    """Load of a server's page in the same browser (its scripts cached, as after visiting the overview)."""
    driver.get(app.base + f"/server/{server_id}")
    data = wait_loaded(driver, SERVER_PANELS, timeout_s)
    result = load_figures(data, SERVER_PANELS, "history")
    driver.save_screenshot(str(shot))
    return result


def cpu_profile(driver, app: App, timeout_s: float, path: Path) -> dict:
    """A CPU profile (1 ms sampling) of a load of /: self time by script, saved as a .cpuprofile."""
    driver.execute_cdp_cmd("Profiler.enable", {})
    driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 1000})
    driver.execute_cdp_cmd("Profiler.start", {})
    driver.get(app.base + "/")
    wait_loaded(driver, OVERVIEW_PANELS, timeout_s)
    profile = driver.execute_cdp_cmd("Profiler.stop", {})["profile"]
    path.write_text(json.dumps(profile))
    return profile_summary(profile)


def script_kind(url: str, name: str) -> str:
    """Which code a profile node belongs to."""
    if not url:
        return {"(idle)": "idle", "(garbage collector)": "gc", "(program)": "browser (layout, style, paint)"}.get(
            name, "browser (layout, style, paint)")
    for key, label in (("dash_renderer", "dash-renderer"), ("plotly", "plotly.js"), ("react-dom", "react-dom"),
                       ("react@", "react"), ("dash_bootstrap", "dash-bootstrap-components"),
                       ("dash_core_components", "dash core components"), ("/assets/", "app assets")):
        if key in url:
            return label
    return "other scripts"


def profile_summary(profile: dict) -> dict:
    """Self time per kind of script, in ms and share of the non-idle time."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    totals: dict[str, float] = {}
    for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
        frame = nodes[sample]["callFrame"]
        kind = script_kind(frame.get("url", ""), frame.get("functionName", ""))
        totals[kind] = totals.get(kind, 0.0) + delta / 1000
    busy = sum(v for k, v in totals.items() if k != "idle") or 1.0
    return {k: {"ms": round(v, 1), "share": round(v / busy, 3) if k != "idle" else None}
            for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------------------------------------- run

def dataset(servers: int, days: float, fresh: bool) -> tuple[Path, Path]:
    """The generated history (made when missing; extended to now with --fresh) and its config."""
    stem = f"history-{servers}x{days:g}d-{INTERVAL_S:g}s"
    db, cfg = out_dir() / f"{stem}.db", out_dir() / f"{stem}.json"
    if not (db.exists() and cfg.exists()):
        log(f"browser: generating {db.name} (a few minutes)")
        generate.generate(db, servers, days, INTERVAL_S, 1, cfg)
    elif fresh:
        generate.generate(db, servers, days, INTERVAL_S, 1, cfg, extend=True, workers=1)  # no fork: a few rounds
    return db, cfg


def first_server(config: Path) -> str:
    """The id of the first configured server."""
    return json.loads(config.read_text())["servers"][0]["ip"]


def cold_loads(args, app: App, cfg: Path, tag: str) -> list[dict]:
    """args.loads cold loads, each in a fresh browser profile: the overview, then a server page (its scripts
    cached, as after visiting the overview)."""
    width, height = args.window
    shots, runs = out_dir("browser"), []
    for i in range(args.loads):
        driver = start_browser(width, height)
        try:
            overview = cold_overview(driver, app, args.timeout, shots / f"{tag}-overview.png", args.refresh_seconds)
            log(f"browser {cfg.stem}: load {i + 1}/{args.loads} overview {json.dumps(overview)}")
            answer(lambda: settle(driver), None)
            server = server_page(driver, app, first_server(cfg), args.timeout, shots / f"{tag}-server.png")
            log(f"browser {cfg.stem}: load {i + 1}/{args.loads} server page {json.dumps(server)}")
            runs.append({"overview": overview, "server_page": server})
        finally:
            driver.quit()
    return runs


def median_run(runs: list[dict], page: str) -> dict:
    """The run of `page` with the median first graph (its other figures alongside), with every run's first
    graph, every panel and longest task as "spread" (min, median, max)."""
    ordered = sorted((r[page] for r in runs), key=lambda x: _s(x["first_graph_s"]))
    chosen = dict(ordered[len(ordered) // 2])
    chosen["spread"] = {key: spread([_s(x[key]) for x in ordered])
                        for key in ("first_graph_s", "all_panels_s", "longest_task_ms")}
    chosen["loads"] = len(ordered)
    return chosen


def spread(values: list[float]) -> list[float]:
    """(min, median, max) of the values."""
    ordered = sorted(values)
    return [ordered[0], ordered[len(ordered) // 2], ordered[-1]]


def refreshes(args, app: App, db: Path, servers: int, tag: str) -> dict:
    """The auto-refresh costs (nothing new, then a new round each time) on a loaded overview; the CPU profiles."""
    width, height = args.window
    shots, result = out_dir("browser"), {}
    driver = start_browser(width, height)
    try:
        cold_overview(driver, app, args.timeout, shots / f"{tag}-refreshed.png", args.refresh_seconds)
        answer(lambda: settle(driver), None)
        if args.refreshes:
            writes, writer = round_writer(db, servers)
            try:
                # One refresh with a new round first, not counted: by now (after the cold loads, minutes at 1,000
                # servers) the history may be older than stale_after_seconds, and the stale watcher opening an
                # alert per server would make the "nothing new" refreshes redraw everything.
                refresh_cost(driver, args.refresh_seconds, writes, 1)
                result["refresh_quiet"] = refresh_cost(driver, args.refresh_seconds, None, args.refreshes)
                log(f"browser {servers}: quiet refreshes {result['refresh_quiet']}")
                if args.profile:
                    result["refresh_quiet_profile"] = refresh_profile(driver, args.refresh_seconds,
                                                                      shots / f"{tag}-refresh-quiet.cpuprofile")
                result["refresh_new_round"] = refresh_cost(driver, args.refresh_seconds, writes, args.refreshes)
                # The graphs are drawn to their last whole bucket: a new round alone redraws none of them, the
                # tick after a bucket ends redraws them all. That one is timed apart (up to a bucket's wait).
                period_ms = args.refresh_seconds * 1000
                result["refresh_bucket"] = [tick_cost(
                    driver, lambda: tick_after_bucket(driver, period_ms, BUCKET_24H_S), period_ms, writes)
                    for _ in range(args.bucket_refreshes)]
                log(f"browser {servers}: refreshes as a bucket ends {result['refresh_bucket']}")
                if args.profile:
                    result["refresh_profile"] = refresh_profile(driver, args.refresh_seconds,
                                                                shots / f"{tag}-refresh.cpuprofile", writes)
                result["refresh_off"] = [idle_period(driver, args.refresh_seconds)]
            finally:
                writer.engine.dispose()
            log(f"browser {servers}: refreshes with a new round {result['refresh_new_round']}")
            log(f"browser {servers}: a period with the auto-refresh off {result['refresh_off']}")
        if args.profile:
            result["profile"] = cpu_profile(driver, app, args.timeout, shots / f"{tag}-overview.cpuprofile")
        return result
    finally:
        driver.quit()


def run_size(args, servers: int) -> dict:
    """Every measurement at one size."""
    db, cfg = dataset(servers, args.days, args.fresh)
    tag = f"{args.label}-{servers}"
    app = App(cfg)
    try:
        time.sleep(args.warm_seconds)  # the stale watcher's first pass opens its alerts
        result = {"servers": servers, "open_alerts": app.open_alerts()}
        log(f"browser {servers}: {result['open_alerts']} open alerts; {args.loads} cold loads of / and a server page")
        runs = cold_loads(args, app, cfg, tag)
        result.update(overview=median_run(runs, "overview"), server_page=median_run(runs, "server_page"))
        if args.refreshes or args.profile:
            result.update(refreshes(args, app, db, servers, tag))
        return result
    finally:
        app.stop()


def _s(value) -> float:
    return float("nan") if value is None else float(value)


def median(page: dict, key: str) -> float:
    """A figure's median over the cold loads (the one load's value in results without a spread)."""
    return page["spread"][key][1] if "spread" in page else _s(page[key])


def over(page: dict, key: str, fmt: str) -> str:
    """ "(median of N loads, min-max)" for a figure's label; empty for a single load."""
    if page.get("loads", 1) < 2:
        return ""
    low, _, high = page["spread"][key]
    return f" (median of {page['loads']} cold loads, {fmt.format(low)}-{fmt.format(high)})"


def figures(results: list[dict]) -> list[Figure]:
    """The figures next to the targets."""
    out = []
    for r in results:
        area = f"{r['servers']} servers ({r['open_alerts']} open alerts)"
        o, s = r["overview"], r["server_page"]
        out.append(Figure.check(area, "overview: first graph with data" + over(o, "first_graph_s", "{:.2f}"),
                                median(o, "first_graph_s"), TARGET_FIRST_GRAPH_S, "{:.2f}", " s"))
        out.append(Figure.check(area, "overview: every panel" + (f" (missing {o['missing']})" if o["missing"] else "")
                                + over(o, "all_panels_s", "{:.2f}"), median(o, "all_panels_s"), TARGET_ALL_PANELS_S,
                                "{:.2f}", " s"))
        out.append(Figure.check(area, f"overview: longest main-thread task ({o['long_tasks']} over 50 ms in the "
                                "median load)" + over(o, "longest_task_ms", "{:.0f}"), median(o, "longest_task_ms"),
                                TARGET_LONGEST_TASK_MS, "{:.0f}", " ms"))
        out.append(Figure(area, "overview: callback requests on load / DOM elements / main-thread time",
                          f"{o['load_requests']} / {o['dom_elements']:,} / {o['main_thread_ms']:,.0f} ms"))
        for key, label in (("refresh_quiet", "nothing new"), ("refresh_new_round", "a new round"),
                           ("refresh_bucket", "a new round as a 5-min bucket ends (graphs redrawn)")):
            runs = r.get(key) or []
            if runs:
                worst = max(x["main_thread_ms"] for x in runs)
                longest = max(x["longest_task_ms"] for x in runs)
                out.append(Figure.check(area, f"auto-refresh, {label}: main-thread time (worst of {len(runs)}; "
                                        f"longest task {longest:.0f} ms)", worst, TARGET_REFRESH_MS, "{:.0f}", " ms"))
        for off in r.get("refresh_off") or []:
            out.append(Figure(area, "a refresh period with the auto-refresh off (the page's own timers, included "
                              f"in each period above; {off['requests']} requests)", f"{off['main_thread_ms']:.0f} ms"))
        out.append(Figure.check(area, "server page: history graph with data" + over(s, "first_graph_s", "{:.2f}"),
                                median(s, "first_graph_s"), TARGET_SERVER_PAGE_S, "{:.2f}", " s"))
        out.append(Figure.check(area, "server page: every panel; longest task " f"{median(s, 'longest_task_ms'):.0f} ms"
                                + over(s, "all_panels_s", "{:.2f}"), median(s, "all_panels_s"), TARGET_SERVER_PAGE_S,
                                "{:.2f}", " s"))
    return out


REFRESH_PROFILES = (("profile", "load of /"), ("refresh_quiet_profile", "a refresh with nothing new"),
                    ("refresh_profile", "a refresh with a new round"))


def profile_table(results: list[dict]) -> str:
    """The CPU profiles' split by script: the load of /, one auto-refresh with nothing new, one with a new round."""
    rows = []
    for r in results:
        for key, what in REFRESH_PROFILES:
            for kind, v in (r.get(key) or {}).items():
                if kind == "top":
                    continue
                rows.append((r["servers"], what, kind, f"{v['ms']:,.0f}",
                             "" if v["share"] is None else f"{100 * v['share']:.0f} %"))
    return markdown_table(["servers", "profile", "code", "self ms", "share of busy"], rows) if rows else ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="200,1000", help="server counts, comma-separated (default: %(default)s)")
    p.add_argument("--days", type=float, default=None, help="days of history (default: 2 at 200, 1 at 1,000)")
    p.add_argument("--fresh", action="store_true", help="extend the history to now first (no stale alerts)")
    p.add_argument("--loads", type=int, default=3, help="cold loads (each in a fresh browser) whose median is "
                   "reported (default: %(default)s)")
    p.add_argument("--refreshes", type=int, default=3, help="auto-refreshes timed per case (0 = skip)")
    p.add_argument("--bucket-refreshes", type=int, default=1,
                   help="refreshes timed just after a 24 h graph bucket ends (each waits for one; 0 = skip)")
    p.add_argument("--refresh-seconds", type=int, default=30, choices=(10, 30, 60, 300),
                   help="the page's auto-refresh period (default: %(default)s, the app's default)")
    p.add_argument("--profile", action="store_true", help="also record CPU profiles of a load of / and of two refreshes")
    p.add_argument("--timeout", type=float, default=240, help="seconds to wait for a page's panels")
    p.add_argument("--warm-seconds", type=float, default=8, help="wait after start for the stale watcher")
    p.add_argument("--window", default="1600x1200", help="browser window, WxH (default: %(default)s)")
    p.add_argument("--label", default="run", help="names the results file and screenshots")
    a = p.parse_args(argv)
    a.window = tuple(int(v) for v in a.window.lower().split("x"))
    a.sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    return a


def main(argv: list[str] | None = None) -> int:
    """Measure every size, print the figures next to the targets and save them."""
    args = parse_args(argv)
    # Stopped from outside (timeout, kill): unwind, so the browser and the app are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    for servers in args.sizes:
        size_args = argparse.Namespace(**vars(args))
        size_args.days = args.days or (2.0 if servers <= 200 else 1.0)
        results.append(run_size(size_args, servers))
    table = figures_table(figures(results))
    print(table)
    prof = profile_table(results)
    if prof:
        print("\nCPU profiles (self time by code):\n" + prof)
    for r in results:
        for key, what in REFRESH_PROFILES[1:]:
            top = (r.get(key) or {}).get("top")
            if top:
                print(f"\nbusiest functions of {what}, {r['servers']} servers:\n" +
                      markdown_table(["self ms", "function", "script"], top))
    save_results(f"browser-{args.label}", {"args": {k: v for k, v in vars(args).items()}, "results": results,
                                             "table": table})
    print(f"\nmachine: {json.dumps(machine_info())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
