"""Write a demo config and database with a few days of varied history: `python -m tests.browser.make_demo DIR`.

Then run `python app.py --no-collector --port 5098 --config DIR/config.json` to look at the dashboard.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from settings import validate_config
from storage import open_writer
from common.timeutil import utcnow
from tests.browser.demo_data import demo_config_dict, seed_demo


def main(argv: list[str]) -> int:
    """Create DIR/config.json and DIR/demo.db (replacing an earlier demo database)."""
    folder = Path(argv[0] if argv else "demo").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("demo.db*"):
        old.unlink()
    data = demo_config_dict(folder / "demo.db")
    (folder / "config.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    config = validate_config(data, source=str(folder / "config.json"))
    writer = open_writer(config.database_target())
    seed_demo(writer, config, utcnow().replace(microsecond=0))
    print(f"wrote {folder / 'config.json'} and {folder / 'demo.db'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
