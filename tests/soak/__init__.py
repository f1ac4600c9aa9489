"""Long-running reliability checks (run by hand; results go into docs/reliability.md)."""
