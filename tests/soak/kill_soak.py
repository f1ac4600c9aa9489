"""The kill soak: `kill -9` pinger.py at random moments many times over, then check the database.

    python -m tests.soak.kill_soak [--kills 100] [--seed N] [--out FILE]

The same procedure as tests/collector/test_reliability_kill.py (which does 10 kills in the suite), a hundred times by
default. Prints one JSON object (and writes it to --out); exit status 0 when the database is sound, every
round is whole and the collector carried on after the last kill. Its result is in docs/reliability.md.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.killing import SOUND, carry_on, fast_config, kill_repeatedly, rounds_stored, soundness


def main(argv: list[str] | None = None) -> int:
    """Run the soak and report; 0 when the database came through sound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill moments (default: random)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON result here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill-soak-") as folder:
        config = fast_config(Path(folder))
        moments = kill_repeatedly(config, args.kills, random.Random(seed))
        killed_at = rounds_stored(config.parent / "monitor.db")
        carry_on(config)
        found = soundness(config.parent / "monitor.db")
        report = {"kills": args.kills, "seed": seed, "seconds": round(time.monotonic() - started, 1),
                  "rounds_after_kills": killed_at, "rounds_at_end": rounds_stored(config.parent / "monitor.db"),
                  "kill_moments_seconds": {"min": min(moments), "max": max(moments)}, **found}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if found == SOUND else 1


if __name__ == "__main__":
    sys.exit(main())
