"""The configured servers as a DataFrame, and the choices the filters offer (from the config, no database)."""
from __future__ import annotations

import pandas as pd

from settings import Config

SERVER_COLUMNS = ["server_id", "partner", "country", "ip", "dn_ext", "probe", "port"]


def servers_frame(config: Config) -> pd.DataFrame:
    """One row per configured server, in config order."""
    rows = [{"server_id": s.id, "partner": s.partner, "country": s.country, "ip": s.ip, "dn_ext": s.dn_ext,
             "probe": s.probe, "port": s.port} for s in config.servers]
    return pd.DataFrame(rows, columns=SERVER_COLUMNS)


def filter_choices(config: Config) -> dict[str, list[str]]:
    """The countries and partners the filter dropdowns offer, sorted."""
    frame = servers_frame(config)
    return {"countries": sorted(frame["country"].unique().tolist()),
            "partners": sorted(frame["partner"].unique().tolist())}


def matching(frame: pd.DataFrame, countries=(), partners=()) -> pd.DataFrame:
    """The rows of a per-server frame whose country and partner pass the filters (empty = all)."""
    keep = pd.Series(True, index=frame.index)
    if countries:
        keep &= frame["country"].isin(countries)
    if partners:
        keep &= frame["partner"].isin(partners)
    return frame[keep]


def find_server(config: Config, server_id: str) -> dict | None:
    """The configured server with this id as a dict, or None."""
    frame = servers_frame(config)
    rows = frame[frame["server_id"] == server_id]
    return None if rows.empty else rows.iloc[0].to_dict()
