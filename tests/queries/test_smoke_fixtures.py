"""The shared fixtures produce what other tests rely on."""
from queries.querystring import parse_filters
from queries.pingdata import ping_series


def test_seeded_history_reads_back_per_country(seeded, app):
    engine = app.server.extensions["latency_monitor"].read_engine
    df = ping_series(engine, parse_filters({"range": "24h"}))
    means = df.groupby("key")["latency_ms"].mean().round(3).to_dict()
    # Kenya holds servers 0 and 1 (20 and 50 ms), Nigeria server 2 (80), Egypt server 3 (110).
    assert means == {"Egypt": 110.0, "Kenya": 35.0, "Nigeria": 80.0}
