"""GET /api/export-data and the shared CSV writer: every stored column, streamed, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

import api.routes
from queries.export import cell_text, iter_csv, iter_json, neutralise
from storage.schema import RAW_COLUMNS, ping_results
from common.timeutil import utcnow
from tests.conftest import make_config_dict
from tests.seeding import seed_history


def stored_count(config, **where) -> int:
    engine = create_engine(config.database_target())
    stmt = select(func.count()).select_from(ping_results)
    for column, value in where.items():
        stmt = stmt.where(ping_results.c[column] == value)
    with engine.connect() as conn:
        count = conn.execute(stmt).scalar_one()
    engine.dispose()
    return count


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_every_stored_column_and_every_row(seeded, client, config):
    response = client.get("/api/export-data")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = read_csv(response)
    assert rows[0] == [c.name for c in RAW_COLUMNS]
    assert len(rows) - 1 == stored_count(config)


def test_csv_is_an_attachment_named_after_the_window(seeded, client):
    disposition = client.get("/api/export-data?start=2026-01-02T03:04:05Z&end=2026-01-03T00:00:00Z")\
        .headers["Content-Disposition"]
    assert disposition == 'attachment; filename="latency-20260102T030405Z-20260103T000000Z.csv"'


def test_filters_apply_to_the_export(seeded, client, config):
    rows = read_csv(client.get("/api/export-data?country=Kenya&range=30d"))
    country = rows[0].index("country")
    assert {r[country] for r in rows[1:]} == {"Kenya"}
    assert len(rows) - 1 == stored_count(config, country="Kenya")


def test_csv_cells_are_formatted_for_people(seeded, client):
    rows = read_csv(client.get("/api/export-data?server=127.0.0.4"))
    last = dict(zip(rows[0], rows[-1]))
    assert last["timestamp"] == seeded["end"].isoformat() + "Z"
    assert (last["success"], last["is_high_latency"], last["avg_time"], last["error"]) == ("true", "false", "110.0", "")


def test_json_export_has_the_same_rows(seeded, client, config):
    response = client.get("/api/export-data?format=json&country=Egypt")
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Disposition"].endswith('.json"')
    body = json.loads(response.get_data(as_text=True))
    assert len(body["rows"]) == stored_count(config, country="Egypt")
    assert set(body["rows"][0]) == {c.name for c in RAW_COLUMNS}
    assert body["rows"][-1]["avg_time"] == 110.0 and body["rows"][-1]["success"] is True


def test_export_is_streamed_a_chunk_at_a_time(seeded, client, config, monkeypatch):
    monkeypatch.setattr(api.routes, "EXPORT_CHUNK_ROWS", 100)
    response = client.get("/api/export-data")
    assert response.is_streamed
    pieces = list(response.response)
    assert len(pieces) == 1 + -(-stored_count(config) // 100)  # the header, then one piece per chunk


def test_iter_csv_pulls_chunks_only_as_it_is_read():
    pulled = []

    def chunks():
        for i in range(3):
            pulled.append(i)
            yield pd.DataFrame({"n": [i]})

    pieces = iter_csv(chunks())
    assert next(pieces) == "n\r\n" and pulled == [0]
    assert next(pieces) == "0\r\n" and pulled == [0]
    assert next(pieces) == "1\r\n" and pulled == [0, 1]


def test_iter_csv_of_no_chunks_is_just_the_header():
    assert "".join(iter_csv(iter([]), ["a", "b"])) == "a,b\r\n"


def test_iter_json_streams_valid_json():
    frames = [pd.DataFrame({"n": [1, 2], "t": pd.to_datetime(["2026-01-01", None])}),
              pd.DataFrame({"n": [3], "t": [None]})]
    body = json.loads("".join(iter_json(frames, {"start": "x"})))
    assert body == {"start": "x", "rows": [{"n": 1, "t": "2026-01-01T00:00:00Z"}, {"n": 2, "t": None},
                                           {"n": 3, "t": None}]}


@pytest.mark.parametrize("text, expected", [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("-3.5", "-3.5"), ("+7", "+7"), ("-1e-3", "-1e-3"), ("Kenya", "Kenya"), ("a=b", "a=b"), ("", ""),
])
def test_neutralise_quotes_formulas_but_not_numbers(text, expected):
    assert neutralise(text) == expected


def test_csv_neutralises_text_cells_but_not_numeric_ones():
    frame = pd.DataFrame({"name": ["=1+1", "-5"], "value": [-5.5, -2.0], "count": [-1, 3]})
    rows = list(csv.reader(io.StringIO("".join(iter_csv([frame])))))
    assert rows == [["name", "value", "count"], ["'=1+1", "-5.5", "-1"], ["-5", "-2.0", "3"]]


def test_configured_names_cannot_inject_formulas(tmp_path):
    from app import create_app
    from settings import validate_config
    from storage import open_writer

    data = make_config_dict(tmp_path)
    data["servers"] = [{"partner": "=cmd|' /C calc'!A0", "country": "@Kenya", "ip": "127.0.0.9", "dn_ext": "-1+1"}]
    config = validate_config(data, source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=2)
    app = create_app(config, start_collector=False)
    rows = read_csv(app.server.test_client().get("/api/export-data"))
    row = dict(zip(rows[0], rows[1]))
    assert (row["partner"], row["country"], row["dn_ext"]) == ("'=cmd|' /C calc'!A0", "'@Kenya", "'-1+1")
    app.close()
    writer.engine.dispose()


def test_vectorised_columns_match_the_cell_by_cell_rules():
    frame = pd.DataFrame({
        "text": ["=x", "-1", None, "plain"], "mixed": [True, None, "@y", 2.5],
        "flag": pd.array([True, False, None, True], dtype="boolean"),
        "count": pd.array([1, None, -3, 4], dtype="Int64"),
        "ratio": [0.5, float("nan"), float("inf"), -2.25],
        "at": pd.to_datetime(["2026-01-01 10:00:00.7", None, "2026-01-02 00:00:00.0", "2026-01-03 00:00:00.0"]),
        "aware": pd.to_datetime(["2026-01-01T12:00:00+02:00"] * 4, utc=False),
    })
    rows = list(csv.reader(io.StringIO("".join(iter_csv([frame])))))[1:]
    expected = [[cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    assert rows == expected
    assert rows[0] == ["'=x", "true", "true", "1", "0.5", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"]
