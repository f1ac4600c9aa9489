"""`python app.py` as a real process: the --host warning, --debug refusal, and secrets kept out of every log."""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from settings.auth import SECRET_KEY_ENV, TOKEN_ENV
from storage.schema import logs
from tests.conftest import make_config_dict
from tests.helpers.auth import HASH, PASSWORD, TOKEN, USERS, csrf_from
from tests.helpers.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SERVING = re.compile(r"serving on http://")
EXPOSED = "with no authentication configured"


def write_config(tmp_path: Path, **overrides) -> Path:
    """A config.json in tmp_path (database and log file beside it)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.json"
    data = make_config_dict(tmp_path, log_file="logs/monitor.log", **overrides)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class AppProcess:
    """A running `python app.py`, with its stderr read line by line on a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern, timeout: float = 60) -> str:
        """The first stderr line matching `pattern`; fails with everything read so far on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if pattern.search(line):
                return line
        raise AssertionError(f"no line matching {pattern.pattern!r} in:\n{''.join(self.lines)}")


@contextmanager
def run_app(config: Path, *args: str, env: dict | None = None):
    """Start app.py on a free port with --no-collector; stop it (only this process) afterwards."""
    port = free_port()
    command = [sys.executable, "app.py", "--config", str(config), "--port", str(port), "--no-collector", *args]
    environ = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, SECRET_KEY_ENV)} | (env or {})
    proc = subprocess.Popen(command, cwd=ROOT, env=environ, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        yield AppProcess(proc), port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_listening_on_all_addresses_without_auth_warns(tmp_path):
    with run_app(write_config(tmp_path), "--host", "0.0.0.0") as (app, _):
        warning = app.wait_for(re.compile(EXPOSED))
        app.wait_for(SERVING)
    assert "WARNING" in warning and "0.0.0.0" in warning and "docs/security.md" in warning


def test_loopback_or_full_auth_gives_no_warning(tmp_path):
    with run_app(write_config(tmp_path / "a"), "--host", "127.0.0.1") as (app, _):
        app.wait_for(SERVING)
    with run_app(write_config(tmp_path / "b", auth={"api_token": TOKEN, "users": USERS}),
                 "--host", "0.0.0.0") as (secured, _):
        secured.wait_for(SERVING)
    assert not [line for line in app.lines + secured.lines if "WARNING" in line], app.lines + secured.lines


def test_a_token_without_users_still_warns_that_the_dashboard_is_open(tmp_path):
    with run_app(write_config(tmp_path, auth={"api_token": TOKEN}), "--host", "0.0.0.0") as (app, _):
        warning = app.wait_for(re.compile("dashboard has no login"))
    assert "WARNING" in warning


def test_debug_on_a_public_address_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "app.py", "--config", str(write_config(tmp_path)), "--host", "0.0.0.0",
                           "--port", str(free_port()), "--no-collector", "--debug"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "WERKZEUG_RUN_MAIN"})
    assert done.returncode == 2 and "would expose the interactive debugger" in done.stderr


def post_form(url: str, fields: dict, cookie: str) -> int:
    """POST a form with a cookie; the status code (redirects not followed)."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def failed_attempts(port: int, typed_password: str) -> None:
    """A failed login of a known user, one with a secret typed as the user name, and a wrong API token."""
    base = f"http://127.0.0.1:{port}"
    wait_for_port(port)
    with urllib.request.urlopen(f"{base}/login", timeout=30) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
        token = csrf_from(response.read().decode())
    for username, password in (("ops", typed_password), (typed_password, PASSWORD)):
        assert post_form(f"{base}/login", {"csrf_token": token, "username": username, "password": password},
                         cookie) == 401
    wrong = urllib.request.Request(f"{base}/api/logs", headers={"Authorization": f"Bearer {TOKEN}-typo"})
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(wrong, timeout=30)


def stored_log_text(tmp_path: Path) -> str:
    """Everything in the logs table and the log file."""
    engine = create_engine(f"sqlite:///{tmp_path / 'test.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(logs.c.message, logs.c.traceback)).all()
    engine.dispose()
    return "\n".join(f"{m}\n{t or ''}" for m, t in rows) + (tmp_path / "logs" / "monitor.log").read_text()


def test_secrets_never_reach_the_logs(tmp_path):
    secret_key = "sk-" + "9" * 40
    typed = "typed-secret-Passw0rd"
    env = {TOKEN_ENV: TOKEN, SECRET_KEY_ENV: secret_key}
    with run_app(write_config(tmp_path, auth={"users": USERS}), env=env) as (app, port):
        app.wait_for(SERVING)
        failed_attempts(port, typed)
        for _ in range(2):  # both failed logins were logged (and so written to the table and file)
            app.wait_for(re.compile("failed login for"))
    text = stored_log_text(tmp_path)
    assert "failed login for 'ops'" in text and "authentication: /api and /metrics need" in text  # logs were kept
    for secret in (TOKEN, secret_key, PASSWORD, typed, HASH):
        assert secret not in text, secret
        assert secret not in "".join(app.lines), secret


def test_a_random_session_key_is_announced(tmp_path):
    with run_app(write_config(tmp_path, auth={"users": USERS})) as (app, _):
        line = app.wait_for(re.compile("random session key"))
    assert "sessions end on restart" in line
