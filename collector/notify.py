"""Alert notifications through Apprise (Slack, Teams, Telegram, e-mail, JSON webhooks...), off the caller's thread.

Each configured channel has its own FIFO of messages. One worker thread sends them; a failed send is
retried with exponential backoff up to `max_attempts`, then dropped with an ERROR line. Because each
channel waits only for its own head message, a dead channel delays neither the rounds nor other channels'
retries (it does hold the worker for one connection timeout per attempt).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable
from urllib.parse import quote

from collector.alerts import SEVERITIES, AlertEvent, severity_rank
from settings import Config
from common.timeutil import iso_z

log = logging.getLogger(__name__)

DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
NOTIFY_ACTIONS = ("open", "escalate", "resolve")


@dataclass(frozen=True)
class Message:
    """One notification as Apprise takes it."""

    title: str
    body: str
    notify_type: str  # an apprise.NotifyType value: info, success, warning, failure


@dataclass
class Channel:
    """One delivery target: a name safe to log, the lowest severity it wants, a sender and its backlog."""

    name: str
    min_severity: str
    send: Callable[[Message], bool]
    pending: deque = field(default_factory=deque)
    attempts: int = 0
    due: float = 0.0

    def wants(self, event: AlertEvent) -> bool:
        """True when the event's severity is at least this channel's minimum."""
        return severity_rank(event.severity) >= severity_rank(self.min_severity)


# -- message text -------------------------------------------------------------------------------------------
def server_link(public_url: str, server_id: str | None) -> str:
    """The dashboard page of a server, or the dashboard itself for host-wide alerts."""
    base = public_url.rstrip("/")
    return f"{base}/" if server_id is None else f"{base}/server/{quote(server_id, safe=':')}"


def _title(event: AlertEvent) -> str:
    label = f"{event.condition[0].upper()}{event.condition[1:]}"
    where = "monitoring host" if event.server_id is None else f"{event.partner} ({event.country}) {event.server_id}"
    tag = "RESOLVED" if event.action == "resolve" else event.severity.upper()
    verb = {"open": "", "escalate": " worsened", "resolve": ""}[event.action]
    return f"[{tag}] {label}{verb}: {where}"


def _notify_type(event: AlertEvent) -> str:
    if event.action == "resolve":
        return "success"
    return "failure" if event.severity == "critical" else "warning"


def format_message(event: AlertEvent, public_url: str = DEFAULT_PUBLIC_URL) -> Message:
    """The title and body of one notification: partner, country, server, condition, value, peak and link."""
    severity = event.severity + (f" (was {event.previous_severity})" if event.previous_severity else "")
    lines = [event.message, "",
             f"Partner: {event.partner or '-'}",
             f"Country: {event.country or '-'}",
             f"Server: {event.server_id or 'monitoring host ' + (event.collector or '')}".rstrip(),
             f"Condition: {event.condition}",
             f"Severity: {severity}",
             f"Value: {event.value_text}",
             f"Peak: {event.peak_text}",
             f"Since: {iso_z(event.started_at)}",
             f"Link: {server_link(public_url, event.server_id)}"]
    if event.action == "resolve":
        lines.insert(-1, f"Resolved: {iso_z(event.at)}")
    return Message(_title(event), "\n".join(lines), _notify_type(event))


# -- channels -----------------------------------------------------------------------------------------------
def apprise_channel(url: str, min_severity: str = "warning") -> Channel | None:
    """A Channel delivering through Apprise to one URL; None (and an ERROR line) when the URL is not usable."""
    import apprise

    if min_severity not in SEVERITIES:
        log.error("notification channel ignored: min_severity %r is not one of %s", min_severity, SEVERITIES)
        return None
    # Memory storage: Apprise must not write cache files next to the app.
    sender = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not isinstance(url, str) or not sender.add(url):
        log.error("notification channel ignored: %r is not a valid Apprise URL", _redact(url))
        return None
    name = next(iter(sender)).url(privacy=True)  # privacy=True hides tokens and passwords in our logs

    def send(message: Message) -> bool:
        """Deliver once; True on success (Apprise logs the reason of a failure)."""
        result = sender.notify(body=message.body, title=message.title,
                               notify_type=apprise.NotifyType(message.notify_type))
        return bool(result)

    return Channel(name=name, min_severity=min_severity, send=send)


def _redact(url) -> str:
    """Only the scheme of a URL that failed to parse, so a token in it never reaches the log."""
    return f"{url.split('://', 1)[0]}://..." if isinstance(url, str) and "://" in url else "<not a URL>"


def channels_from_config(config: Config) -> list[Channel]:
    """The usable channels of the optional `notifications` config list."""
    channels = []
    for entry in config.notifications:
        if not isinstance(entry, dict):
            log.error("notification channel ignored: %r is not an object with url and min_severity", entry)
            continue
        channel = apprise_channel(entry.get("url"), entry.get("min_severity", "warning"))
        if channel is not None:
            channels.append(channel)
    return channels


def build_notifier(config: Config, **options) -> "Notifier | None":
    """A (not yet started) Notifier for the configured channels; None when there are none."""
    channels = channels_from_config(config)
    if not channels:
        return None
    return Notifier(channels, public_url=config.public_url or DEFAULT_PUBLIC_URL, **options)


# -- the worker ---------------------------------------------------------------------------------------------
class Notifier:
    """Queues alert events per channel and delivers them on its own thread, retrying with backoff."""

    def __init__(self, channels: Iterable[Channel], public_url: str = DEFAULT_PUBLIC_URL, *, max_attempts: int = 5,
                 backoff_seconds: float = 2.0, max_backoff_seconds: float = 300.0, max_pending: int = 500,
                 clock: Callable[[], float] = time.monotonic):
        self.channels = list(channels)
        self.public_url = public_url
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_pending = max_pending
        self.clock = clock
        self._cv = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self) -> "Notifier":
        """Start the worker thread (no-op when it already runs)."""
        with self._cv:
            if self._thread and self._thread.is_alive():
                return self
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the worker after its current attempt (safe twice); undelivered messages are logged and dropped."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        thread = self._thread
        if thread and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        left = self.pending_count()
        if left:
            log.warning("notifier stopped with %d undelivered notification(s)", left)

    def is_alive(self) -> bool:
        """True while the worker thread runs."""
        return bool(self._thread and self._thread.is_alive())

    # -- queueing ---------------------------------------------------------------------------------------
    def submit(self, events: Iterable[AlertEvent]) -> None:
        """Queue the notifiable events for every channel that wants them; returns at once."""
        with self._cv:
            for event in events:
                if event.action in NOTIFY_ACTIONS:
                    self._enqueue(event)
            self._cv.notify_all()

    def _enqueue(self, event: AlertEvent) -> None:
        message = format_message(event, self.public_url)
        for channel in self.channels:
            if not channel.wants(event):
                continue
            if len(channel.pending) >= self.max_pending:
                # Keep the oldest so a channel's opens and resolves stay in order; drop the newcomer.
                log.warning("notification backlog of %s is full; dropped: %s", channel.name, message.title)
                continue
            channel.pending.append(message)

    def pending_count(self) -> int:
        """Messages queued or being retried, over all channels."""
        with self._cv:
            return sum(len(c.pending) for c in self.channels)

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queue is empty (True) or the timeout passes (False)."""
        deadline = self.clock() + timeout
        with self._cv:
            while any(c.pending for c in self.channels):
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    # -- delivery ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            channel = self._next_due()
            if channel is None:
                return
            self._attempt(channel)

    def _next_due(self) -> Channel | None:
        """The channel whose head message is due, waiting as long as needed; None when stopping."""
        with self._cv:
            while not self._stopping:
                waiting = [c for c in self.channels if c.pending]
                first = min(waiting, key=lambda c: c.due, default=None)
                delay = None if first is None else first.due - self.clock()
                if delay is not None and delay <= 0:
                    return first
                self._cv.wait(delay)
        return None

    def _attempt(self, channel: Channel) -> None:
        """Send the channel's head message once, outside the lock, and record the outcome."""
        with self._cv:
            message = channel.pending[0]
        ok = self._send(channel, message)
        with self._cv:
            if ok:
                self._done(channel)
            else:
                self._failed(channel, message)
            self._cv.notify_all()

    def _send(self, channel: Channel, message: Message) -> bool:
        try:
            return channel.send(message)
        except Exception:  # noqa: BLE001 - a broken channel must not end the worker
            log.exception("notification to %s raised", channel.name)
            return False

    def _done(self, channel: Channel) -> None:
        channel.pending.popleft()
        channel.attempts, channel.due = 0, 0.0

    def _failed(self, channel: Channel, message: Message) -> None:
        channel.attempts += 1
        if channel.attempts >= self.max_attempts:
            log.error("notification to %s dropped after %d attempts: %s", channel.name, channel.attempts,
                      message.title)
            self._done(channel)
            return
        delay = min(self.backoff_seconds * 2 ** (channel.attempts - 1), self.max_backoff_seconds)
        channel.due = self.clock() + delay
        log.warning("notification to %s failed (attempt %d of %d); retrying in %.1f s: %s", channel.name,
                    channel.attempts, self.max_attempts, delay, message.title)
