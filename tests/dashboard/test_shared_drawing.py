"""Many viewers, one drawing (issue 12): dashboards on the same view share the series and RTT spread figures,
drawn once per change of the data, and a failed drawing is not kept."""
from __future__ import annotations

from datetime import timedelta

import pytest

import callbacks.graphs as graphs_cb
import callbacks.smoke as smoke_cb
from common.timeutil import utcnow
from tests.seeding import in_a_whole_bucket, seed_history


@pytest.fixture
def seeded(config, writer):
    """Two hours of rounds of every server, ending now."""
    end = utcnow().replace(microsecond=0)
    seed_history(writer, config, end - timedelta(hours=2), rounds=24, interval_seconds=300)
    return end


def counting(monkeypatch, module, name: str) -> list:
    """Count the calls of module.name (it still runs)."""
    calls, real = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def viewer_series(n: int):
    """refresh_series as a viewer that has drawn nothing yet calls it (no previous signature)."""
    return graphs_cb.refresh_series("?range=24h", n, "country", False, None, None, None, "network")


def test_viewers_of_one_view_share_one_series_drawing_until_a_round_arrives(seeded, ctx, config, writer,
                                                                          monkeypatch):
    queries = counting(monkeypatch, graphs_cb, "ping_series")
    first = [viewer_series(n) for n in range(5)]
    assert len(queries) == 1  # five dashboards, one query and one drawing
    assert all(out[0] is first[0][0] and out[3] == first[0][3] for out in first)
    seed_history(writer, config, in_a_whole_bucket(utcnow().replace(microsecond=0)), rounds=1)
    after = viewer_series(6)
    assert len(queries) == 2 and after[3] != first[0][3]  # new data: drawn again, with a new signature


def test_each_series_callback_draws_only_its_own_figure_from_frames_read_once(seeded, ctx, monkeypatch):
    queries = counting(monkeypatch, graphs_cb, "ping_series")
    heatmaps = counting(monkeypatch, graphs_cb, "loss_heatmap")
    metrics = counting(monkeypatch, graphs_cb, "metric_figure")
    args = ("?range=24h", 0, "country", False, None, None, None, "network")
    latency, sig = graphs_cb.refresh_latency(*args)
    assert latency.data and (heatmaps, metrics) == ([], [])  # the latency graph waits for no other figure
    loss, loss_sig = graphs_cb.refresh_loss(*args)
    jitter, _ = graphs_cb.refresh_jitter(*args)
    assert loss.data[0].type == "heatmap" and jitter.data and loss_sig == sig
    assert (len(queries), len(heatmaps), len(metrics)) == (1, 1, 1)  # one read for the three


def test_a_failed_series_drawing_is_not_kept(seeded, ctx, monkeypatch):
    real = graphs_cb.ping_series
    monkeypatch.setattr(graphs_cb, "ping_series", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk")))
    failed = viewer_series(1)
    assert "Could not load the measurements" in failed[0].layout.annotations[0].text and failed[3] is None
    monkeypatch.setattr(graphs_cb, "ping_series", real)
    assert viewer_series(2)[0].data  # the next refresh draws it


def test_viewers_of_the_same_servers_share_one_rtt_spread(seeded, ctx, config, monkeypatch):
    reads = counting(monkeypatch, smoke_cb, "smoke_data")
    chosen = [s.id for s in config.servers][:2]
    figures = [smoke_cb.refresh_smoke("?range=24h", n, chosen, "bands", False, None)[0] for n in range(3)]
    assert len(reads) == 1 and figures[1] is figures[0] and figures[0].data


def test_a_refresh_reads_the_server_status_once_for_all_its_panels_and_viewers(seeded, ctx, writer, config,
                                                                              monkeypatch):
    import callbacks.common as common_cb
    import callbacks.overview as overview_cb
    import callbacks.shell as shell_cb
    reads = counting(monkeypatch, common_cb, "server_status")
    monkeypatch.setattr(common_cb, "STATUS_SHARE_SECONDS", 10 ** 9)  # a slow machine must not cross a period
    for _ in range(3):  # three viewers' refreshes: tiles, alerts feed, dropdown states and spread default
        overview_cb.overview_now("")
        shell_cb.refresh_filter_options(1, None)
        smoke_cb.smoke_servers("", None)
    assert len(reads) == 1
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=1)
    tiles = overview_cb.overview_now("")["tiles"]
    assert len(reads) == 2  # a new round: read again at once, not after the share period
    assert {t["id"] for t in tiles} == {s.id for s in config.servers}
