"""REST routes (placeholder until the API issue lands)."""
from flask import Blueprint, jsonify

from queries.status import server_status
from runtime import get_runtime
from storage.timeutil import iso_z, utcnow

bp = Blueprint("api", __name__)


@bp.get("/api/servers/status")
def servers_status():
    """Current status of every configured server."""
    rt = get_runtime()
    df = server_status(rt.read_engine, rt.config)
    return jsonify({"generated_at": iso_z(utcnow()), "servers": [
        {"id": r["server_id"], "status": r["status"]} for r in df.to_dict("records")]})
