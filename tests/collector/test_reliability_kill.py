"""`kill -9` in the middle of rounds, many times over: the database stays sound and every round is whole.

pinger.py runs as a real process on a fast config (20 loopback servers, a round every 0.2 s) and is
killed with SIGKILL at random moments ten times, restarted after each kill; then it runs once more and
stops cleanly. A round and its results are one transaction, so no round may be stored without all of its
rows, and no row without its round.
"""
from __future__ import annotations

import os
import random

from tests.helpers.killing import SOUND, carry_on, fast_config, kill_repeatedly, soundness

KILLS = 10


def test_kill_9_mid_round_ten_times_leaves_a_sound_database(tmp_path):
    config = fast_config(tmp_path)
    moments = kill_repeatedly(config, KILLS, random.Random(os.getpid()))  # different moments on each run
    carry_on(config)  # it carries on after the last kill, on the same database
    assert soundness(tmp_path / "monitor.db") == SOUND, f"kills at {moments} s after a stored round"
