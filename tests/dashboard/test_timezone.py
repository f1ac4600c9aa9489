"""The display time zone: UTC by default, the browser's own, or display_timezone from the config; kept in the URL
(tz=) and local storage, applied to every axis, table, tooltip and export file name, and named on the page.
Stored times, the URL's start/end and the API stay UTC."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs

import pandas as pd
import pytest
from dash import no_update

import callbacks.export as export_cb
import callbacks.shell as shell_cb
import callbacks.zoom as zoom_cb
from callbacks.urlstate import controls_from_query, default_custom_window, display_zone, query_from_controls
from common import timezones as tzs
from figures.timeseries import latency_figure, loss_heatmap
from layouts.panels import log_list, rounds_table
from queries.filters import Filters
from settings import ConfigError, validate_config
from tests.conftest import make_config_dict
from tests.helpers.dash_tree import with_trigger
from tests.helpers.dash_tree import text_of
from layouts import ids

THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
T0 = datetime(2026, 11, 20, 6, 0)  # UTC; 09:00 in Nairobi (+03:00), 11:30 in Kolkata (+05:30)


# -- the setting ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["UTC", "local", "Africa/Nairobi", "America/Argentina/Buenos_Aires"])
def test_display_timezone_takes_utc_local_or_a_zone_name(tmp_path, value):
    assert validate_config(make_config_dict(tmp_path, display_timezone=value)).display_timezone == value


def test_display_timezone_defaults_to_utc(tmp_path):
    assert validate_config(make_config_dict(tmp_path)).display_timezone == "UTC"


@pytest.mark.parametrize("value", ["Mars/Olympus", "", 3, "../../etc/passwd", None])
def test_a_display_timezone_that_is_no_zone_is_named(tmp_path, value):
    with pytest.raises(ConfigError) as raised:
        validate_config(make_config_dict(tmp_path, display_timezone=value))
    assert str(raised.value).startswith("display_timezone: ") and "is not a time zone" in str(raised.value)


# -- times moved into the zone and back ----------------------------------------------------------------------

def test_stored_utc_times_read_as_wall_clock_times_of_the_zone_and_back():
    assert tzs.to_display(T0, "Africa/Nairobi") == datetime(2026, 11, 20, 9, 0)
    assert tzs.to_display(T0, "UTC") is T0
    series = tzs.to_display(pd.Series([pd.Timestamp(T0), pd.NaT]), "Asia/Kolkata")
    assert series.iloc[0] == pd.Timestamp("2026-11-20 11:30") and pd.isna(series.iloc[1])
    assert tzs.to_utc(datetime(2026, 11, 20, 11, 30), "Asia/Kolkata") == T0
    assert tzs.zone_label("Africa/Nairobi", T0) == "Africa/Nairobi (UTC+03:00)" and tzs.zone_label("UTC", T0) == "UTC"
    assert tzs.short_label("America/New_York", T0) == "UTC-05:00"
    assert tzs.short_label("America/New_York", datetime(2026, 7, 1)) == "UTC-04:00"  # summer time
    assert tzs.time_text(T0, "Africa/Nairobi", seconds=True) == "2026-11-20 09:00:00"


# -- the URL keeps UTC; the controls show the zone ---------------------------------------------------------

def test_the_custom_window_is_typed_in_the_zone_and_written_to_the_url_in_utc():
    query = query_from_controls([], [], "custom", "2026-11-20", "2026-11-21", "09:00", "21:30", tz="Africa/Nairobi",
                                zone="Africa/Nairobi")
    assert query == ("?range=custom&start=2026-11-20T06%3A00%3A00Z&end=2026-11-21T18%3A30%3A00Z"
                     "&tz=Africa%2FNairobi")
    controls = controls_from_query(query, "Africa/Nairobi")
    assert (controls["start_date"], controls["start_time"], controls["end_time"], controls["tz"]) == \
        ("2026-11-20", "09:00", "21:30", "Africa/Nairobi")
    assert controls_from_query(query, "UTC")["start_time"] == "06:00"
    assert query_from_controls([], [], "24h", None, None, "00:00", "00:00", tz="UTC") == "?range=24h"  # the default
    assert default_custom_window(T0, "Asia/Kolkata")["end_time"] == "11:31"


def test_a_time_that_is_not_24_hour_is_refused_by_name():
    query = query_from_controls([], [], "custom", "2026-11-20", "2026-11-21", "9pm", "21:30")
    _, error = shell_cb.filters_from_search(query)
    assert error and error.startswith("start:")


def test_local_means_the_browsers_own_zone():
    assert display_zone("local", "Europe/Berlin") == "Europe/Berlin"
    assert display_zone("local", None) == "UTC" and display_zone("local", "Not/AZone") == "UTC"
    assert display_zone("Africa/Nairobi", "Europe/Berlin") == "Africa/Nairobi"


# -- the shell's callback ------------------------------------------------------------------------------------

def synced(out: tuple) -> dict:
    return dict(zip([key for key, _, _ in shell_cb.SYNC_OUTPUTS], out))


def sync(trigger: str, search: str, tz="UTC", browser=None, saved=None, shown="UTC", **controls) -> dict:
    """sync_filters as Dash calls it after `trigger` changed (controls default to an unfiltered 24 h)."""
    values = {**dict(countries=[], partners=[], range="24h", start_date=None, end_date=None, start_time="00:00",
                     end_time="00:00"), **controls}
    return synced(with_trigger(trigger, shell_cb.sync_filters, search, *values.values(), tz, browser, saved, shown))


def test_a_link_with_tz_shows_that_zone(ctx):
    out = sync(f"{ids.URL}.search", "?range=custom&start=2026-11-20T06:00:00Z&end=2026-11-20T18:00:00Z"
                                    "&tz=Africa/Nairobi")
    assert out["zone"] == "Africa/Nairobi" and out["tz"] == "Africa/Nairobi" and out["search"] is no_update
    assert (out["start_time"], out["end_time"]) == ("09:00", "21:00") and out["zone_badge"] == "UTC+03:00"


def test_a_url_without_tz_takes_the_saved_choice_and_names_it_in_the_url(ctx):
    out = sync(f"{ids.TZ_SAVED}.data", "?range=7d", browser="Asia/Kolkata", saved="local")
    assert out["search"] == "?range=7d&tz=local" and out["zone"] == "Asia/Kolkata" and out["tz"] == "local"


def test_choosing_a_zone_writes_it_to_the_url_and_saves_it_and_keeps_the_instants(ctx):
    search = "?range=custom&start=2026-11-20T06:00:00Z&end=2026-11-20T18:00:00Z"
    out = sync(f"{ids.TZ_SELECT}.value", search, tz="Asia/Kolkata", range="custom")
    assert parse_qs(out["search"][1:]) == {**parse_qs(search[1:]), "tz": ["Asia/Kolkata"]}
    assert out["saved"] == "Asia/Kolkata"
    assert out["zone"] == "Asia/Kolkata" and (out["start_time"], out["end_time"]) == ("11:30", "23:30")
    back = sync(f"{ids.TZ_SELECT}.value", out["search"], tz="UTC", shown="Asia/Kolkata", range="custom")
    assert parse_qs(back["search"][1:]) == parse_qs(search[1:]) and back["saved"] == "UTC" and back["zone"] == "UTC"


def test_a_bad_tz_in_the_url_says_so_and_shows_utc(ctx):
    out = sync(f"{ids.URL}.search", "?tz=Mars/Olympus")
    assert out["alert_open"] is True and out["alert"].startswith("tz: 'Mars/Olympus' is not a time zone")
    assert out["zone"] is no_update  # stays UTC


def test_the_clock_names_the_zone(ctx):
    assert shell_cb.updated_at("", "Africa/Nairobi").endswith("UTC+03:00")
    assert shell_cb.updated_at("", None).endswith(" UTC")


# -- figures, tables and files --------------------------------------------------------------------------------

def rows(minutes: range, key: str = "Kenya") -> pd.DataFrame:
    return pd.DataFrame([{"key": key, "bucket": pd.Timestamp(T0) + pd.Timedelta(minutes=m), "latency_ms": 40.0,
                          "loss_pct": float(m % 2)} for m in minutes])


def test_the_axes_show_the_zones_wall_clock_and_say_which_zone():
    window = (T0, T0 + timedelta(hours=6))
    fig = latency_figure(rows(range(0, 360, 60)), THRESHOLDS, group="country", bucket_seconds=3600,
                         gap_seconds=7200, window=window, tz="Africa/Nairobi")
    assert pd.Timestamp(fig.data[0].x[0]) == pd.Timestamp("2026-11-20 09:00")
    assert [pd.Timestamp(v) for v in fig.layout.xaxis.range] == [pd.Timestamp("2026-11-20 09:00"),
                                                                 pd.Timestamp("2026-11-20 15:00")]
    assert fig.layout.xaxis.title.text == "1-hour buckets · times UTC+03:00"


def test_the_loss_heatmap_keeps_its_cells_in_a_half_hour_zone():
    window = (T0, T0 + timedelta(hours=6))
    fig = loss_heatmap(rows(range(0, 360, 60)), group="country", bucket_seconds=3600, window=window, tz="Asia/Kolkata")
    (heat,) = fig.data
    filled = [pd.Timestamp(x) for x, z in zip(heat.x, heat.z[0]) if z == z]  # NaN != NaN
    assert filled[0] == pd.Timestamp("2026-11-20 11:30") and len(filled) == 6  # every bucket, none lost


def test_tables_and_the_log_show_the_zone():
    rounds = pd.DataFrame([{"timestamp": pd.Timestamp(T0), "avg_time": 40.0, "concerns": None}])
    text = text_of(rounds_table(rounds, tz="Africa/Nairobi"))
    assert "Time (UTC+03:00)" in text and "2026-11-20 09:00:00" in text
    logs = pd.DataFrame([{"timestamp": pd.Timestamp(T0), "level": "INFO", "module": "app", "message": "hello"}])
    assert "2026-11-20 11:30:00" in text_of(log_list(logs, "Asia/Kolkata"))


def test_the_export_file_is_named_in_the_zone():
    filters = Filters(start=T0, end=T0 + timedelta(days=1))
    assert export_cb.download_name(filters, "csv", "UTC") == "latency-20261120T060000Z-20261121T060000Z.csv"
    assert export_cb.download_name(filters, "csv", "Africa/Nairobi") == \
        "latency-20261120T090000+0300-20261121T090000+0300.csv"


def test_a_zoom_drawn_in_the_zone_is_stored_in_utc():
    filters = Filters(start=T0, end=T0 + timedelta(days=1))
    zoom = zoom_cb.zoom_change({"xaxis.range[0]": "2026-11-20 11:00", "xaxis.range[1]": "2026-11-20 13:00"},
                               filters, "Africa/Nairobi")
    assert zoom == {"start": "2026-11-20T08:00:00", "end": "2026-11-20T10:00:00"}


@pytest.fixture
def ctx(app):
    """Callbacks run inside a request of the app (they read its config)."""
    with app.server.test_request_context():
        yield app
