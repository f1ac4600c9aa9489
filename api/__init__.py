"""The REST API blueprint (/api/...), sharing the read-side queries with the dashboard."""
from flask import Flask


def register_api(server: Flask) -> None:
    """Register the API routes on the Flask server."""
    from api.routes import bp
    server.register_blueprint(bp)
