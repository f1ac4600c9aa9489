"""Series colours derived from names (stable whatever else is configured or shown, readable on both themes),
and the loss heatmap's colour scale, whose 0 % cells and colour bar 0 must be the same colour."""
from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from figures.theme import SERIES_COLORS, key_colors, series_colour
from figures.timeseries import (LOSS_SCALE, LOSS_STEP_PCT, ZERO_COLOR, latency_figure, loss_heatmap,
                                loss_scale_position, metric_figure)

REPO = Path(__file__).resolve().parents[2]
CSS = REPO / "assets" / "10_dashboard.css"
THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
T0 = pd.Timestamp("2026-11-01 00:00:00")
WINDOW = (T0.to_pydatetime(), (T0 + pd.Timedelta(hours=1)).to_pydatetime())
COUNTRIES = ["Egypt", "Kenya", "Nigeria", "South Africa"]


def series(keys, minutes=(0, 1, 2), **values) -> pd.DataFrame:
    """ping_series-shaped rows for each key."""
    base = {"latency_ms": 40.0, "min_ms": 35.0, "max_ms": 45.0, "loss_pct": 0.0, "jitter_ms": 2.0, "mos": 4.4,
            "rounds": 1}
    return pd.DataFrame([{"key": k, "bucket": T0 + pd.Timedelta(minutes=m), **base, **values}
                         for k in keys for m in minutes])


def line_colours(fig) -> dict[str, str]:
    """Legend name -> line colour of a figure's series traces."""
    return {t.name: t.line.color for t in fig.data if t.type == "scatter" and t.mode == "lines"}


def latency(keys, colors=None):
    return latency_figure(series(keys), THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120,
                          window=WINDOW, colors=colors)


# -- stable colours --------------------------------------------------------------------------------

def test_a_series_colour_depends_on_its_name_alone():
    assert series_colour("Kenya") == series_colour("Kenya") in SERIES_COLORS
    # key_colors no longer numbers the keys: a key's colour is the same in any list, in any order, or alone.
    full = key_colors(COUNTRIES)
    assert key_colors(reversed(COUNTRIES)) == full
    assert {k: key_colors([k])[k] for k in COUNTRIES} == full


def test_adding_a_country_changes_no_other_countrys_colour():
    before = line_colours(latency(COUNTRIES, key_colors(COUNTRIES)))
    grown = ["Angola", *COUNTRIES, "Ghana", "Zambia"]  # added before, between and after the others by name
    after = line_colours(latency(grown, key_colors(grown)))
    assert {k: after[k] for k in COUNTRIES} == before
    assert before == {k: series_colour(k) for k in COUNTRIES}


def test_a_filtered_view_keeps_each_series_colour():
    whole = line_colours(latency(COUNTRIES))
    kenya_only = line_colours(latency(["Kenya"]))
    assert kenya_only == {"Kenya": whole["Kenya"]}
    jitter = metric_figure(series(["Nigeria"]), "jitter_ms", group="country", bucket_seconds=60, gap_seconds=120,
                           unit="ms", axis_title="jitter (ms)")
    assert line_colours(jitter) == {"Nigeria": whole["Nigeria"]}


def test_the_dashboard_colours_come_from_the_names_not_the_config_order():
    from callbacks.graphs import series_colors

    def config(names):
        servers = [SimpleNamespace(id=f"10.0.0.{i}", partner="P", country=c, ip=f"10.0.0.{i}", dn_ext="",
                                   probe="auto", port=None) for i, c in enumerate(names, start=1)]
        return SimpleNamespace(servers=servers)

    before = series_colors(config(COUNTRIES), "country")
    after = series_colors(config(["Algeria", *COUNTRIES]), "country")  # shifts every server's place by one
    assert {k: after[k] for k in COUNTRIES} == before
    servers = series_colors(config(["Algeria", *COUNTRIES]), "server")
    assert servers["10.0.0.2"] == series_colour("10.0.0.2")


def test_series_colours_are_the_same_in_another_process():
    """No dependence on Python's per-process hash seed: a reload (a new process) draws the same colours."""
    code = ("import json, sys; from figures.theme import series_colour; "
            "print(json.dumps([series_colour(n) for n in sys.argv[1:]]))")
    out = subprocess.run([sys.executable, "-c", code, *COUNTRIES], cwd=REPO, capture_output=True, text=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.strip() == str([series_colour(n) for n in COUNTRIES]).replace("'", '"')


# -- readable and distinguishable --------------------------------------------------------------------

def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rgb(hex_colour: str) -> tuple[float, float, float]:
    """Linear sRGB of '#rrggbb'."""
    return tuple(_linear(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))


def luminance(hex_colour: str) -> float:
    r, g, b = rgb(hex_colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def oklab(hex_colour: str) -> tuple[float, float, float]:
    """Björn Ottosson's OKLab coordinates, where distance tracks how different two colours look."""
    r, g, b = rgb(hex_colour)
    l, m, s = (0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b,
               0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b,
               0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b)
    l, m, s = (v ** (1 / 3) for v in (l, m, s))
    return (0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
            1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
            0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s)


def surface(theme: str) -> str:
    """The card surface colour the graphs sit on in a theme, read from the dashboard's CSS."""
    css = CSS.read_text()
    block = re.search(r'html\[data-bs-theme="%s"\][^{]*\{([^}]*)\}' % theme, css).group(1)
    return re.search(r"--lm-surface:\s*(#[0-9a-fA-F]{6})", block).group(1)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_series_colour_is_readable_on_both_themes(theme):
    background = surface(theme)
    low = {c: round(contrast(c, background), 2) for c in SERIES_COLORS if contrast(c, background) < 3.0}
    assert not low, f"below 3:1 (WCAG non-text contrast) on {background}: {low}"


def test_series_colours_are_told_apart():
    closest = min(math.dist(oklab(a), oklab(b)) for a, b in itertools.combinations(SERIES_COLORS, 2))
    assert closest >= 0.09
    assert len(set(SERIES_COLORS)) == len(SERIES_COLORS) >= 12


def test_the_sample_countries_get_four_different_colours():
    assert len({series_colour(c) for c in COUNTRIES}) == len(COUNTRIES)


# -- the loss heatmap's 0 ---------------------------------------------------------------------------

def scale_colour(scale, position: float) -> str:
    """The colour a plotly colorscale gives a position: the stop's colour at a stop or inside a step, else
    'blend:lo>hi'. At a repeated stop (a hard step) the upper colour applies, as in d3's bisect-right scale."""
    for (p0, c0), (p1, c1) in zip(scale, scale[1:]):
        if p0 <= position < p1 or position == p1 == 1.0:
            return c0 if c0 == c1 or position == p0 else f"blend:{c0}>{c1}"
    raise AssertionError(f"{position} is outside the scale")


def heatmap():
    df = pd.concat([series(["Egypt"], loss_pct=0.0), series(["Kenya"], loss_pct=0.5)], ignore_index=True)
    return loss_heatmap(df, group="country", bucket_seconds=600, window=WINDOW).data[0]


def test_zero_loss_cells_and_the_colour_bars_zero_are_the_same_colour():
    heat = heatmap()
    scale = [tuple(stop) for stop in heat.colorscale]
    assert [tuple(s) for s in LOSS_SCALE] == scale

    def colour_of(z: float) -> str:
        return scale_colour(scale, (z - heat.zmin) / (heat.zmax - heat.zmin))

    zero_tick = list(heat.colorbar.tickvals)[list(heat.colorbar.ticktext).index("0")]
    assert colour_of(0.0) == colour_of(zero_tick) == ZERO_COLOR
    assert heat.z[0][0] == 0.0 and colour_of(heat.z[0][0]) == ZERO_COLOR  # Egypt's measured 0 % cell


def test_the_zero_step_is_visible_on_the_colour_bar_and_any_loss_leaves_it():
    heat = heatmap()
    scale = [tuple(stop) for stop in heat.colorscale]
    green = [p1 - p0 for (p0, c0), (p1, c1) in zip(scale, scale[1:]) if c0 == c1 == ZERO_COLOR]
    assert sum(green) >= 0.05  # at least 5 % of the bar's length: a step one sees, not a sliver
    assert heat.zmin < 0 <= heat.zmax == 100
    for loss in (LOSS_STEP_PCT, 0.5, 1.0):  # 0.5 % is Kenya's cells here
        assert ZERO_COLOR not in scale_colour(scale, loss_scale_position(loss)).split(">")[0], loss
    assert scale_colour(scale, loss_scale_position(LOSS_STEP_PCT)) == "#facc15"
    ticks = list(heat.colorbar.tickvals)
    assert ticks == sorted(ticks) and all(heat.zmin <= t <= heat.zmax for t in ticks)
