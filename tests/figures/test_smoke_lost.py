"""The per-packet samples view marks lost packets, as SmokePing does: one mark per round that lost any,
coloured by the share lost, whether the probe stored lost packets as null samples (fping, tcp) or left
them out (ping, where only the round's packet counters know)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from figures.smoke import LOST_TRACE, SAMPLES_NOTE, loss_color, lost_per_round, samples_figure
from queries.history import explode_samples

THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
T0 = pd.Timestamp("2026-11-01 00:00:00")
WINDOW = (T0.to_pydatetime(), (T0 + pd.Timedelta(hours=1)).to_pydatetime())


def rounds_frame(rows) -> pd.DataFrame:
    """round_samples-shaped rows: (server, minute, samples list, transmitted, received)."""
    return pd.DataFrame([{"server_id": sid, "timestamp": T0 + pd.Timedelta(minutes=m), "samples": json.dumps(s),
                          "packets_transmitted": sent, "packets_received": got} for sid, m, s, sent, got in rows])


# Server a: a clean round, one with 1 of 4 lost, one with all 4 lost; server b never loses a packet.
FPING_STYLE = rounds_frame([
    ("a", 0, [10.0, 11.0, 12.0, 13.0], 4, 4),
    ("a", 1, [10.0, None, 12.0, 13.0], 4, 3),
    ("a", 2, [None, None, None, None], 4, 0),
    ("b", 0, [20.0, 21.0, 22.0, 23.0], 4, 4),
    ("b", 1, [20.0, 21.0, 22.0, 23.0], 4, 4),
])
# The same rounds as the ping probe stores them: replies only, the losses in the counters alone.
PING_STYLE = FPING_STYLE.assign(samples=[json.dumps([v for v in json.loads(s) if v is not None])
                                         for s in FPING_STYLE["samples"]])
NAMES = {"a": "A", "b": "B"}


def lost_traces(fig) -> list:
    return [t for t in fig.data if t.name == LOST_TRACE]


def assert_marks_the_two_lossy_rounds_of_a(fig) -> None:
    (lost,) = lost_traces(fig)  # one trace, on server a's row; b lost nothing
    assert lost.yaxis == "y" and lost.mode == "markers"
    assert [pd.Timestamp(x) for x in lost.x] == [T0 + pd.Timedelta(minutes=1), T0 + pd.Timedelta(minutes=2)]
    assert np.asarray(lost.customdata).tolist() == [[1, 4], [4, 4]]  # lost of sent, shown on hover
    assert list(lost.marker.color) == [loss_color(25.0), loss_color(100.0)]
    top = fig.layout.yaxis.range[1]
    assert all(0.9 * top <= y <= top for y in lost.y)  # along the top edge, where a lost packet has no RTT
    dots = [t for t in fig.data if t.name == "samples"]
    assert [len(d.y) for d in dots] == [7, 8]  # answered packets only, as before


def test_null_samples_are_marked_as_lost_packets():
    samples = explode_samples(FPING_STYLE)
    assert samples["rtt_ms"].isna().sum() == 5
    assert_marks_the_two_lossy_rounds_of_a(samples_figure(samples, NAMES, THRESHOLDS, window=WINDOW))


def test_packets_left_out_of_the_samples_are_counted_from_the_rounds():
    samples = explode_samples(PING_STYLE)
    assert samples["rtt_ms"].notna().all()  # nothing in the samples says a packet was lost
    assert not lost_traces(samples_figure(samples, NAMES, THRESHOLDS, window=WINDOW))
    fig = samples_figure(samples, NAMES, THRESHOLDS, window=WINDOW, rounds=PING_STYLE)
    assert_marks_the_two_lossy_rounds_of_a(fig)


def test_lost_per_round_counts_each_round_once():
    by_samples = lost_per_round(explode_samples(FPING_STYLE))
    by_counters = lost_per_round(explode_samples(PING_STYLE), PING_STYLE)
    for frame in (by_samples, by_counters):
        assert frame[["server_id", "lost", "sent"]].values.tolist() == [["a", 1, 4], ["a", 4, 4]]
    assert lost_per_round(explode_samples(FPING_STYLE.iloc[0:0])).empty


def test_a_window_without_loss_has_no_lost_marks_and_the_note_says_what_they_mean():
    clean = FPING_STYLE[FPING_STYLE["server_id"] == "b"]
    fig = samples_figure(explode_samples(clean), {"b": "B"}, THRESHOLDS, window=WINDOW, rounds=clean)
    assert not lost_traces(fig)
    assert fig.layout.xaxis.title.text == f"{SAMPLES_NOTE} · times UTC" and "lost" in SAMPLES_NOTE
