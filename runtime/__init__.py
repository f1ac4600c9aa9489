"""What the running web app owns: the objects its routes and callbacks share (Runtime, get_runtime) and the
background services it starts in order and stops in reverse (Services: embedded collector, supervisor,
stale watcher, config watcher)."""
from runtime.context import (EXTENSION_KEY, Runtime, collector_problem, collector_state, config_problem, config_state,
                             get_runtime, read_engine_for)

__all__ = ["EXTENSION_KEY", "Runtime", "collector_problem", "collector_state", "config_problem", "config_state",
           "get_runtime", "read_engine_for"]
