"""Component ids, defined once: layouts, callbacks and browser tests import these names."""

PREFIX = "lm-"

# App shell
URL = PREFIX + "url"
PAGE = PREFIX + "page"
RENDERED_PATH = PREFIX + "rendered-path"  # the path whose page PAGE holds (the router skips re-rendering it)
REFRESH = PREFIX + "refresh"
REFRESH_SELECT = PREFIX + "refresh-select"
# What changed at an auto-refresh (callbacks.stamps): the data (newest round, alerts, the config's generation)
# with the series graphs' bucket of the clock, with the RTT spread's bucket, and with five minutes (the status
# side: counts, tiles, alerts, log). Callbacks whose output moves only with one of them listen to it instead of
# the refresh tick, so a quiet tick asks the server one small callback instead of seven; the heartbeat (the
# server's clock and the "updated" text, every tick) moves the ages and the clock in the browser.
STAMP_SERIES = PREFIX + "stamp-series"
STAMP_SPREAD = PREFIX + "stamp-spread"
STAMP_STATUS = PREFIX + "stamp-status"
HEARTBEAT = PREFIX + "heartbeat"
PAUSE_SWITCH = PREFIX + "pause-switch"
THEME_SWITCH = PREFIX + "theme-switch"
THEME_SINK = PREFIX + "theme-sink"
UPDATED_AT = PREFIX + "updated-at"
NAV_HOME = PREFIX + "nav-home"
# Time zone: the choice (UTC, local or a name; in the URL as tz=), the last choice kept in local storage, the
# browser's own zone (asked by assets/21_timezone.js) and the zone every time on the page is shown in.
TZ_SELECT = PREFIX + "tz-select"
TZ_SAVED = PREFIX + "tz-saved"
BROWSER_TZ = PREFIX + "browser-tz"
DISPLAY_TZ = PREFIX + "display-tz"

# Filters (shared by every page; mirrored in the URL query string)
COUNTRY = PREFIX + "country"
PARTNER = PREFIX + "partner"
RANGE = PREFIX + "range"
CUSTOM_ROW = PREFIX + "custom-range"
CUSTOM_DATES = PREFIX + "custom-dates"
START_TIME = PREFIX + "start-time"
END_TIME = PREFIX + "end-time"
CUSTOM_ZONE = PREFIX + "custom-zone"
FILTER_ALERT = PREFIX + "filter-alert"
FILTER_STATES = PREFIX + "filter-states"  # what the country/partner options were last drawn from
EXPORT_BUTTON = PREFIX + "export-button"
EXPORT_DOWNLOAD = PREFIX + "export-download"
EXPORT_ALERT = PREFIX + "export-alert"

# Overview page
NOTICE = PREFIX + "notice"
COUNTS = PREFIX + "counts"
CARDS = PREFIX + "cards"
WARNINGS = PREFIX + "warnings"
TILES = PREFIX + "tiles"  # layouts.components.ServerTiles inside CARDS
ALERT_FEED = PREFIX + "alert-feed"  # layouts.components.AlertFeed inside WARNINGS
ACK_NOTICE = PREFIX + "ack-notice"  # why an acknowledgement was refused, above the feed
LOG_FEED = PREFIX + "log-feed"  # layouts.components.LogFeed inside LOG_TABLE
ORDER_TOGGLE = PREFIX + "order-toggle"  # worst first / alphabetical, mirrored in the URL (?order=name)
DOWN_BANNER = PREFIX + "down-banner"  # the wall's full-width banner when any server is down
OVERVIEW_STATE = PREFIX + "overview-state"  # what the browser holds (signatures), so a refresh sends changes only
OVERVIEW_STAMP = PREFIX + "overview-stamp"  # time of the last successful refresh, for the page's age warning
WALL_STATE = PREFIX + "wall-state"  # the countries a wall screen cycles through
CLIENT_SINK = PREFIX + "client-sink"  # output of the overview's clientside callbacks (holds nothing useful)
KIOSK_BUTTON = PREFIX + "kiosk-button"  # navbar: open the wall view (?kiosk=1)
KIOSK_EXIT = PREFIX + "kiosk-exit"  # wall view: back to the normal page
GROUP_TOGGLE = PREFIX + "group-toggle"
PROBE_TOGGLE = PREFIX + "probe-toggle"  # the series graphs show the network probe, the SIP checks, or both
PROBE_VIEW = PREFIX + "probe-view"  # the toggle's choice, kept in the shell so the export sees it on every page
LATENCY_GRAPH = PREFIX + "latency-graph"
LOSS_GRAPH = PREFIX + "loss-graph"
JITTER_GRAPH = PREFIX + "jitter-graph"
SERIES_SIGNATURE = PREFIX + "series-signature"  # the latency graph's; the loss and jitter graphs have their own
LOSS_SIGNATURE = PREFIX + "loss-signature"
JITTER_SIGNATURE = PREFIX + "jitter-signature"
SERIES_ZOOM = PREFIX + "series-zoom"
SMOKE_SERVERS = PREFIX + "smoke-servers"
SMOKE_MODE = PREFIX + "smoke-mode"
SMOKE_GRAPH = PREFIX + "smoke-graph"
SMOKE_SIGNATURE = PREFIX + "smoke-signature"
# What the overview's graphs listen to instead of the shell's stamps (callbacks.stamps.graph_wakes, answered in
# the stamps' own request; stores of the shell): set only when what they would draw changed, so a round landing
# in the bucket still filling asks none of them.
SERIES_WAKE = PREFIX + "series-wake"
SPREAD_WAKE = PREFIX + "spread-wake"
WAKE_SEEN = PREFIX + "wake-seen"  # the digests the wake-up last saw (no listener)
# The overview's view controls (group, zoom, probe, RTT spread servers), mirrored in the browser into a store of the
# shell so the shell's stamps callback can read them on every page (a State of a missing component fails).
VIEW_CHOICE = PREFIX + "view-choice"
LOG_LEVEL = PREFIX + "log-level"
LOG_SEARCH = PREFIX + "log-search"
LOG_TABLE = PREFIX + "log-table"

# Server page
BACK_LINK = PREFIX + "back-link"
SERVER_HEADER = PREFIX + "server-header"
SERVER_HISTORY = PREFIX + "server-history"
SERVER_DISTRIBUTION = PREFIX + "server-distribution"
SERVER_SIGNATURE = PREFIX + "server-signature"
SERVER_ROUNDS = PREFIX + "server-rounds"
SERVER_CONCERNS = PREFIX + "server-concerns"
SERVER_LOGS = PREFIX + "server-logs"

# Class names tests and CSS select on
CARD_CLASS = PREFIX + "server-card"
