"""What several test modules share, one module per kind of thing (test modules never import each other):

- waiting: wait_for(predicate, what, timeout), the one polling wait
- ports: free_port(), wait_for_port()
- fakes: FakeFactory/FakeProbe (probe_factory stand-ins), replies(), ticking_now(), FakeClock, SteppingStop
- alerts: probe results for the alert rules (replies, silent, BAD_PROBES, GOOD_PROBE, measured) and
  store_alert/seed_alerts to put alerts in the database
- webhook: Receiver, a real HTTP endpoint on 127.0.0.1 recording notifications
- dash_tree: walk/text_of over Dash component trees, status_row() for the status layouts
- auth: TOKEN, PASSWORD, HASH, USERS, secure_app(), client_factory(), login(), csrf_from()
- openapi: assert_matches_spec() and the documented paths/parameters
- readme: README and table_keys()
- killing: pinger.py killed with SIGKILL and restarted (the suite's kill test and tests/soak/kill_soak.py)
- browser: CARD, trace_names(), x_range() for dash_duo tests
Fixtures live in conftest.py files instead (tests/conftest.py, tests/dashboard/conftest.py, tests/browser/).
"""
