/* Client-side parts of the latency dashboard (the callbacks are registered with ClientsideFunction in
   callbacks/shell.py). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    latencyMonitor: {
        /* Bootstrap 5.3 colour modes: the whole page follows data-bs-theme on <html>. */
        applyTheme: function (dark) {
            var theme = dark ? "dark" : "light";
            document.documentElement.setAttribute("data-bs-theme", theme);
            return theme;
        },
        /* The overview's view controls as one value of the shell (callbacks/stamps.py view_choice). */
        viewChoice: function (group, zoom, probe, servers) {
            return {group: group, zoom: zoom, probe: probe, servers: servers};
        },
        /* Each auto-refresh's heartbeat (callbacks/stamps.py): the "updated" clock, as text. */
        heartbeatText: function (beat) {
            return beat && typeof beat.text === "string" ? beat.text : window.dash_clientside.no_update;
        },
        /* The overview's ages count from the server's clock of the heartbeat; the stamp notes a refresh that
           answered, for the page's age warning (assets/30_wall.js). */
        heartbeatAges: function (beat) {
            var no = window.dash_clientside.no_update;
            if (!beat || typeof beat.at !== "number") { return [no, no, no]; }
            return [beat.at, beat.at, {at: beat.at, interval_ms: beat.interval_ms}];
        }
    }
});

/* Apply a remembered dark theme before Dash renders, so a wall screen does not flash white on reload.
   The key is where Dash keeps the theme switch's persisted value ([new value, original value]); if Dash
   ever stores it elsewhere this does nothing and the clientside callback still applies the theme. */
(function () {
    try {
        var saved = JSON.parse(window.localStorage.getItem("_dash_persistence.lm-theme-switch.value.true"));
        if (Array.isArray(saved) && saved[0] === true) {
            document.documentElement.setAttribute("data-bs-theme", "dark");
        }
    } catch (e) { /* no storage (private mode) or unreadable value: keep the default */ }
}());
