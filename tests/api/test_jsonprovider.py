"""Flask's JSON goes through orjson (api.jsonprovider) with the default provider's conventions."""
from __future__ import annotations

import json
from datetime import datetime

import numpy as np
from flask import Flask

from api.jsonprovider import OrjsonProvider


def make_app() -> Flask:
    """A bare Flask app with the provider, as create_app installs it."""
    server = Flask(__name__)
    server.json = OrjsonProvider(server)
    return server


def test_the_app_uses_orjson(app):
    assert isinstance(app.server.json, OrjsonProvider)


def test_keys_sorted_nan_as_null_and_numpy_values_accepted():
    server = make_app()
    text = server.json.dumps({"b": float("nan"), "a": np.float64(1.5), "c": np.arange(3), "d": [np.int64(4)]})
    assert text == '{"a":1.5,"b":null,"c":[0,1,2],"d":[4]}'


def test_datetimes_keep_flasks_http_date_form():
    server = make_app()
    at = datetime(2026, 11, 24, 5, 0, 0)
    assert json.loads(server.json.dumps({"at": at})) == {"at": "Tue, 24 Nov 2026 05:00:00 GMT"}


def test_loads_and_jsonify_round_trip():
    server = make_app()
    with server.test_request_context():
        response = server.json.response({"x": [1, None, 2.25]})
    assert response.mimetype == "application/json"
    assert server.json.loads(response.get_data()) == {"x": [1, None, 2.25]}
