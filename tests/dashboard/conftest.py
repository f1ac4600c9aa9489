"""Fixtures of the dashboard tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def ctx(app):
    """Run code as a callback would: inside a request of the app."""
    with app.server.test_request_context():
        yield app
