/* The browser's own time zone, for the dashboard's "Local" time zone choice (callbacks/shell.py). Only the
   browser knows it; the server converts times into it. A namespace of its own, so this file and
   20_dashboard.js never replace each other's functions. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    latencyMonitorTime: {
        /* The IANA name of the browser's zone (e.g. "Europe/Berlin"), or null when it does not say. */
        browserZone: function () {
            try {
                return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
            } catch (e) {
                return null;
            }
        }
    }
});
