/* The overview's many-item components (layouts/components.py declares them for Dash): a server per tile,
   the alerts feed and the log feed, each ONE Dash component whatever the number of items, rendered here with
   React from plain data. Dash wraps, tracks and notifies every component of its layout tree, which at 200
   cards of twenty components each took a minute per load (issue 12); here an item is a few DOM nodes.

   Text from data only ever reaches the page as React text or attribute values (escaped), never as HTML;
   class names and CSS variables from data pass a whitelist first. Loaded after React, before dash-renderer,
   which finds the components as window.lm_components.<type>. */
(function () {
    "use strict";
    var React = window.React;
    var h = React.createElement;

    var STATES = ["excellent", "good", "fair", "poor", "critical", "degraded", "partial", "down", "stale",
                  "unknown"];
    var STATE_LABELS = {excellent: "Excellent", good: "Good", fair: "Fair", poor: "Poor", critical: "Critical",
                        degraded: "Degraded", partial: "Partial", down: "Down", stale: "Stale",
                        unknown: "Waiting"};
    var SEVERITIES = ["warning", "critical"];
    var BEAT_CODES = "egfpcdum";
    var LEVELS = {DEBUG: "secondary", INFO: "info", WARNING: "warning", ERROR: "danger", CRITICAL: "danger"};

    function oneOf(value, allowed, fallback) { return allowed.indexOf(value) >= 0 ? value : fallback; }
    function icon(name) { return /^bi-[a-z0-9-]+$/.test(name || "") ? name : "bi-exclamation-triangle-fill"; }
    function text(value) { return value === null || value === undefined ? "" : String(value); }

    /* common/format.span: '12 s', '4 min', '3 h', '2 d'. */
    function span(seconds) {
        if (seconds === null || seconds === undefined || isNaN(seconds)) { return "–"; }
        var s = Math.max(0, Math.floor(seconds));
        if (s < 120) { return s + " s"; }
        if (s < 7200) { return Math.floor(s / 60) + " min"; }
        if (s < 172800) { return Math.floor(s / 3600) + " h"; }
        return Math.floor(s / 86400) + " d";
    }
    function age(seconds) {
        return seconds === null || seconds === undefined || isNaN(seconds) ? "never" : span(seconds) + " ago";
    }

    /* A link that navigates inside the app like dcc.Link (history + Dash's location event); a modified or
       middle click opens it as a normal link would. */
    function follow(event) {
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
            event.altKey) { return; }
        event.preventDefault();
        window.history.pushState({}, "", event.currentTarget.getAttribute("href"));
        window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
        window.scrollTo(0, 0);
    }
    function serverHref(id, search) { return "/server/" + encodeURIComponent(id) + (search || ""); }
    var NAV_SAFE = /^\?[^#]*$/;
    function safeSearch(search) { return NAV_SAFE.test(search || "") ? search : ""; }

    /* layouts/status.strip_background: one colour, or a hard-edged gradient with a stop per run of equal
       rounds; the stylesheet's mask cuts it into a bar per round. */
    function stripBackground(codes) {
        codes = (codes || "").split("").filter(function (c) { return BEAT_CODES.indexOf(c) >= 0; }).join("");
        if (!codes) { return "none"; }
        var runs = [], i = 0;
        while (i < codes.length) {
            var j = i;
            while (j < codes.length && codes[j] === codes[i]) { j++; }
            runs.push([codes[i], j]);
            i = j;
        }
        if (runs.length < 2) { return "var(--" + runs[0][0] + ")"; }
        return "linear-gradient(90deg," + runs.map(function (r) {
            return "var(--" + r[0] + ") 0 " + (+(100 * r[1] / codes.length).toPrecision(4)) + "%";
        }).join(",") + ")";
    }

    function strip(t, slots) {
        var style = {background: stripBackground(t.hb)};
        if (slots && slots !== 30) { style["--n"] = slots; }
        return h("div", {className: "lm-heartbeat", role: "img", title: text(t.ht), style: style});
    }

    function alertPills(alerts) {
        if (!alerts || !alerts.length) { return null; }
        return h("div", {className: "lm-alerts", "aria-label": "open alerts"}, alerts.map(function (a, i) {
            var sev = oneOf(a[1], SEVERITIES, "warning");
            return h("span", {key: i, className: "lm-alert lm-alert-" + sev, title: text(a[4]),
                              "data-kind": text(a[0]), "data-severity": sev},
                     h("i", {className: "bi " + icon(a[3]) + " me-1"}), text(a[2]));
        }));
    }

    function tileSummary(t, state) {
        var lines = [text(t.p) + " (" + text(t.c) + ") · " + text(t.ip) + (t.dn ? " · " + t.dn : ""),
                     STATE_LABELS[state] + ": " + text(t.v) + " · loss " + text((t.m || [])[0]) + " · jitter " +
                     text((t.m || [])[1]) + " · MOS " + text((t.m || [])[2])];
        (t.a || []).forEach(function (a) { lines.push("open alert: " + text(a[4])); });
        if (t.cn) { lines.push(text(t.cn)); }
        if (t.sip) { lines.push(text(t.sip[1])); }
        if (t.mt) { lines.push("maintenance: " + text(t.mt)); }
        lines.push(t.ck ? "checked " + t.ck : "no result yet");
        return lines.join("\n");
    }

    /* layouts/sip.sip_badge: the card's SIP line (issue 14), [badge state, text, SIP status]; none without SIP. */
    var SIP_BADGES = ["up", "degraded", "down", "unknown"];
    function sipLine(sip) {
        if (!sip) { return null; }
        return h("div", {className: "lm-card-sip", "data-sip": text(sip[2])},
                 h("span", {className: "lm-badge lm-badge-" + oneOf(sip[0], SIP_BADGES, "unknown")}, text(sip[1])));
    }

    /* A full card (a few dozen servers or fewer): layouts/status.py's card, same classes and data attributes. */
    function fullCard(t, state, now, slots) {
        var metrics = [["loss", 0], ["jitter", 1], ["MOS", 2]];
        var checked = t.t === null || t.t === undefined ? "never" : age(now - t.t);
        return h("div", {className: "lm-card lm-state-" + state, "data-server": text(t.id), "data-state": state,
                         "data-alerts": String((t.a || []).length)},
            h("div", {className: "lm-card-head"},
              h("span", {className: "lm-card-title"}, text(t.p)),
              h("span", {className: "lm-badge lm-badge-" + state, title: t.vt ? text(t.vt) : undefined},
                STATE_LABELS[state])),
            h("div", {className: "lm-card-sub"}, h("span", {className: "lm-ip"}, text(t.ip)),
              h("span", {className: "lm-dn"}, text(t.dn))),
            sipLine(t.sip),
            h("div", {className: "lm-latency lm-text-" + oneOf(t.lc, STATES, "unknown")}, text(t.v)),
            /* issue 15: the server is inside a maintenance window (its names on hover) */
            t.mt ? h("span", {className: "lm-badge lm-badge-maintenance", title: text(t.mt)}, "maintenance") : null,
            h("div", {className: "lm-metrics lm-metrics-grid"}, metrics.map(function (m) {
                return [h("small", {key: m[0] + "l"}, m[0]), h("strong", {key: m[0] + "v"}, text((t.m || [])[m[1]]))];
            })),
            alertPills(t.a),
            t.cn ? h("div", {className: "lm-card-concerns"},
                     h("i", {className: "bi bi-exclamation-triangle-fill me-1"}), text(t.cn)) : null,
            strip(t, slots),
            h("div", {className: "lm-checked"}, "checked " + checked));
    }

    /* A compact tile (many servers, or a wall screen): name, latency, strip; everything else on hover. */
    function compactTile(t, state, slots) {
        var worst = (t.a || []).length ? oneOf(t.a[0][1], SEVERITIES, "warning") : null;
        return h("div", {className: "lm-card lm-tile lm-state-" + state + (worst ? " lm-tile-alert-" + worst : ""),
                         "data-server": text(t.id), "data-state": state, "data-alerts": String((t.a || []).length)},
            h("span", {className: "lm-tile-name"}, text(t.p)),
            h("span", {className: "lm-tile-value lm-text-" + oneOf(t.lc, STATES, "unknown")}, text(t.v)),
            strip(t, slots));
    }

    var Tile = React.memo(function Tile(props) {
        var t = props.tile, state = oneOf(t.s, STATES, "unknown");
        var href = serverHref(t.id, props.search);
        var compact = props.density === "compact";
        return h("a", {className: "lm-server-card" + (compact ? " lm-compact" : ""), href: href, onClick: follow,
                       title: compact ? tileSummary(t, state) : text(t.p) + " (" + text(t.c) + ") – open history"},
                 compact ? compactTile(t, state, props.slots) : fullCard(t, state, props.now, props.slots));
        // (the full card's own title names the server; its concerns and alerts are on the card)
    }, function same(a, b) {
        // A compact tile shows no age, so a new clock alone does not redraw it.
        return a.tile === b.tile && a.search === b.search && a.density === b.density && a.slots === b.slots &&
            (a.density === "compact" || a.now === b.now);
    });

    /* How many of `count` items to draw: TILE_CHUNK more in each task until all are, so the first drawing of
       a thousand tiles is several short tasks (the page answers in between) rather than one of half a second
       (issue 12: no main-thread task over 200 ms). Once all are drawn, a refresh redraws them in one go. */
    var TILE_CHUNK = 100;
    function useChunks(count) {
        var limit = React.useState(TILE_CHUNK);
        React.useEffect(function () {
            if (limit[0] >= count) { return undefined; }
            var timer = window.setTimeout(function () { limit[1](limit[0] + TILE_CHUNK); }, 0);
            return function () { window.clearTimeout(timer); };
        }, [limit[0], count]);
        return limit[0];
    }

    /* Servers grouped by country: groups = [[country, note, count], ...] over tiles in display order. */
    function ServerTiles(props) {
        // The wall view (assets/30_wall.js) may ask for another density to fit the screen.
        var forced = React.useState(null);
        React.useEffect(function () {
            function onDensity(event) { forced[1](event.detail === "full" || event.detail === "compact" ? event.detail : null); }
            window.addEventListener("lm-tiles-density", onDensity);
            window.dispatchEvent(new CustomEvent("lm-tiles-mounted"));
            return function () { window.removeEventListener("lm-tiles-density", onDensity); };
        }, []);
        var tiles = props.tiles || [], groups = props.groups || [], search = safeSearch(props.search);
        var loaded = props.tiles !== null && props.tiles !== undefined;
        var density = forced[0] || (props.density === "compact" ? "compact" : "full");
        var drawn = useChunks(tiles.length);
        var sections = [], at = 0;
        groups.forEach(function (g) {
            var members = tiles.slice(at, Math.min(at + (g[2] || 0), drawn));
            at += g[2] || 0;
            if (!members.length) { return; }
            sections.push(h("section", {key: "g:" + g[0], className: "lm-group", "data-country": text(g[0])},
                h("h3", {className: "lm-group-title"}, h("span", null, text(g[0])),
                  h("small", {className: "lm-group-note"}, text(g[1]))),
                h("div", {className: "lm-card-grid"}, members.map(function (t) {
                    return h(Tile, {key: t.id, tile: t, search: search, density: density, now: props.now,
                                    slots: props.slots});
                }))));
        });
        if (loaded && !tiles.length && props.empty) {
            sections = [h("div", {key: "empty", className: "lm-empty"}, text(props.empty))];
        }
        return h("div", {id: props.id, className: "lm-tiles lm-density-" + density,
                         "data-count": String(tiles.length), "data-density": density}, sections);
    }

    /* layouts/panels.warning_when: 'open 12 min'; 'resolved 5 min ago · lasted 20 min'. */
    function warningWhen(item, now) {
        if (item.r) {
            return "resolved " + age(now - item.e) + " · lasted " + span(item.e - item.b);
        }
        return "open " + span(now - item.b);
    }

    /* Issue 15: an open alert's acknowledgement, or a comment box and an Acknowledge button. The button sets the
       feed's `ack` prop; callbacks/ack.py checks the role and stores it (a Dash callback: CSRF-checked). */
    function ackPart(item, setProps) {
        if (item.r || item.aid === null || item.aid === undefined) { return null; }
        var aid = String(item.aid);
        if (item.ak) {
            return h("div", {key: "ak", className: "lm-ack-note", "data-alert": aid},
                     h("i", {className: "bi bi-check2-circle me-1"}), text(item.ak));
        }
        function send(e) {
            var box = e.currentTarget.parentNode.querySelector("input");
            if (setProps) { setProps({ack: {alert: item.aid, comment: box ? box.value : "", at: Date.now()}}); }
        }
        return h("div", {key: "af", className: "lm-ack-form", "data-alert": aid},
                 h("input", {className: "form-control form-control-sm lm-ack-input", maxLength: 1000,
                             placeholder: "comment (why, ticket)", "aria-label": "acknowledgement comment"}),
                 h("button", {type: "button", className: "btn btn-sm btn-outline-secondary lm-ack-button",
                              onClick: send}, "Acknowledge"));
    }

    /* The mtr/traceroute report taken when a down or packet-loss alert opened, folded away. */
    function pathPart(item) {
        if (!item.ps) { return null; }
        return h("details", {key: "ps", className: "lm-path-details"}, h("summary", null, "path when it opened"),
                 h("pre", {className: "lm-path"}, text(item.ps)));
    }

    function alertItem(item, when, search, setProps) {
        var extra = [ackPart(item, setProps), pathPart(item)].filter(function (p) { return p !== null; });
        var main = alertLink(item, when, search);
        if (!extra.length) { return main; }
        return h("div", {key: item.k, className: "lm-warn-wrap"}, [main].concat(extra));
    }

    function alertLink(item, when, search) {
        var sev = oneOf(item.sv, SEVERITIES, "warning");
        var pill = item.r ? "resolved" : sev;
        var who = item.id === null || item.id === undefined
            ? [h("strong", {key: "w"}, "Monitoring host")]
            : [h("strong", {key: "w"}, text(item.p)),
               h("span", {key: "x", className: "text-body-secondary"}, " " + text(item.c) + " · " + text(item.ip))];
        var body = [
            h("i", {key: "i", className: "bi " + icon(item.ic) + " lm-warn-icon"}),
            h("div", {key: "b", className: "lm-warn-body"},
              h("div", {className: "lm-warn-head"}, h("div", null, who),
                h("span", {className: "lm-sev lm-sev-" + pill}, pill)),
              h("div", {className: "lm-warn-text"}, text(item.msg)),
              h("div", {className: "lm-warn-age"}, when))
        ];
        var cls = "lm-warn lm-warn-" + sev + (item.r ? " lm-warn-resolved" : "");
        if (item.id === null || item.id === undefined) { return h("div", {key: item.k, className: cls}, body); }
        return h("a", {key: item.k, className: cls, href: serverHref(item.id, search), onClick: follow}, body);
    }

    /* One alert, redrawn only when it or its age's text changes: a heartbeat moves the clock every tick, and
       200 open alerts hours old would otherwise all be rebuilt for the same "open 3 h". */
    var AlertRow = React.memo(function AlertRow(props) {
        return alertItem(props.item, props.when, props.search, props.setProps);
    }, function same(a, b) {
        return a.item === b.item && a.when === b.when && a.search === b.search && a.setProps === b.setProps;
    });
    function alertRow(item, now, search, setProps) {
        return h(AlertRow, {key: item.k, item: item, when: warningWhen(item, now), search: search, setProps: setProps});
    }

    /* Open alerts (worst and newest first), then those resolved in the range. */
    function AlertFeed(props) {
        if (props.items === null || props.items === undefined) {  // nothing loaded yet: no "no alerts" claim
            return h("div", {id: props.id, className: "lm-feed"});
        }
        var items = props.items, now = props.now, search = safeSearch(props.search);
        var opened = items.filter(function (i) { return !i.r; });
        var ended = items.filter(function (i) { return i.r; });
        var parts;
        if (!opened.length && !ended.length) {
            parts = [h("div", {key: "e", className: "lm-empty"}, "No alerts: every server is within its limits.")];
            return h("div", {id: props.id, className: "lm-feed"}, parts);
        }
        parts = opened.length ? opened.map(function (i) { return alertRow(i, now, search, props.setProps); })
            : [h("div", {key: "e", className: "lm-empty"}, "No open alerts: every server is within its limits.")];
        if (ended.length) {
            parts.push(h("h3", {key: "rh", className: "lm-warn-heading"}, "Resolved in this range"));
            ended.forEach(function (i) { parts.push(alertRow(i, now, search, props.setProps)); });
        }
        var more = null;
        if (Array.isArray(props.more)) {  // [open alerts not listed, resolved ones not listed]
            more = h("div", {className: "lm-feed-more"},
                     props.more[0] > 0 ? h("span", {className: "lm-more-open"},
                                           props.more[0] + " more open alert" + (props.more[0] === 1 ? "" : "s") + " not listed. ") : null,
                     props.more[1] > 0 ? h("span", {className: "lm-more-resolved"},
                                           props.more[1] + " more resolved in this range.") : null);
        } else if (props.more) {
            more = h("div", {className: "lm-feed-more"}, text(props.more));
        }
        return h("div", {id: props.id, className: "lm-feed", "data-open": String(opened.length)},
                 h("div", {className: "lm-warn-list"}, parts), more);
    }

    /* Log lines, newest first: level, time and source above the message. */
    function LogFeed(props) {
        if (props.lines === null || props.lines === undefined) { return h("div", {id: props.id}); }  // not loaded
        var lines = props.lines;
        if (!lines.length) { return h("div", {id: props.id, className: "lm-empty"}, "No log lines match."); }
        return h("div", {id: props.id, className: "lm-log-list lm-scroll"}, lines.map(function (l) {
            var level = text(l[1]), count = +l[5] || 1, folded = count > 1;
            // A folded run of routine lines (queries.logs.viewer_logs): its name and count, then its newest line.
            var message = folded ? [h("strong", {key: "h"}, text(l[6]) + " \u00d7 " + count.toLocaleString("en-US")),
                                    h("span", {key: "m", className: "text-body-secondary"}, " \u00b7 latest: " + text(l[4]))]
                : text(l[4]);
            var attrs = {key: l[0], className: "lm-log-entry lm-log-" + level.toLowerCase().replace(/[^a-z]/g, "") +
                         (folded ? " lm-log-folded" : "")};
            if (folded) { attrs["data-count"] = String(count); }
            return h("div", attrs,
                h("div", {className: "lm-log-meta"},
                  h("span", {className: "badge text-bg-" + (LEVELS[level] || "secondary")}, level),
                  h("span", {className: "lm-log-time"}, text(l[2])),
                  h("span", {className: "lm-log-source"}, text(l[3]))),
                h("div", {className: "lm-log-msg"}, message));
        }));
    }

    /* A table of text cells (a server's recent rounds): one component however many rows; each cell names its
       column (data-label) for assets/31_phone.css, which shows a row as a card on a phone. */
    function RoundsTable(props) {
        var rows = props.rows || [], flagged = {};
        (props.flagged || []).forEach(function (i) { flagged[i] = true; });
        if (!rows.length) { return h("div", {id: props.id, className: "lm-empty"}, text(props.empty)); }
        return h("div", {id: props.id, className: "lm-scroll"},
            h("table", {className: "table table-sm table-hover lm-table mb-0"},
              h("thead", null, h("tr", null, (props.columns || []).map(function (c, i) {
                  return h("th", {key: i}, text(c));
              }))),
              h("tbody", null, rows.map(function (r, i) {
                  return h("tr", {key: i, className: flagged[i] ? "lm-row-flagged" : undefined},
                           r.map(function (c, j) {  // data-label: a phone shows each row as a card
                               return h("td", {key: j, "data-label": text((props.columns || [])[j])}, text(c));
                           }));
              }))));
    }

    window.lm_components = Object.assign({}, window.lm_components, {
        ServerTiles: ServerTiles, AlertFeed: AlertFeed, LogFeed: LogFeed, RoundsTable: RoundsTable,
        _format: {span: span, age: age, stripBackground: stripBackground}
    });
}());
