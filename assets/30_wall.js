/* The overview's browser side (issue 16 "On the wall", issue 12): the order toggle in the URL, the wall view
   (?kiosk=1: no chrome, tiles fitted to the screen, optional cycling between countries), the page's own
   "data is N s old" warning, and Plotly text that scales with the page's type.

   Everything here writes text with textContent and builds URLs with URLSearchParams: nothing from data
   becomes HTML. It runs without a round trip to the server, so it keeps working when the server is gone. */
(function () {
    "use strict";
    var TICK_MS = 1000;
    var MIN_CYCLE_S = 5;
    var FULL_CARDS_MAX_ON_WALL = 60;  // beyond, full cards never fit a screen: go straight to compact tiles
    var DEFAULT_INTERVAL_MS = 30000;
    var state = {lastOk: Date.now(), intervalMs: DEFAULT_INTERVAL_MS, countries: [], cycleAt: 0, fitKey: "",
                 fitting: false, scale: 0, skewMs: 0, rootPx: 0};

    function now() { return Date.now() + state.skewMs; }
    function params() { return new URLSearchParams(window.location.search); }
    function kioskOn(p) { return ["1", "true", "yes", "on"].indexOf(((p || params()).get("kiosk") || "").toLowerCase()) >= 0; }
    function cycleSeconds(p) {
        var n = parseInt((p || params()).get("cycle"), 10);
        return isFinite(n) && n > 0 ? Math.max(MIN_CYCLE_S, n) : 0;
    }

    /* Change the query string the way dcc.Link does, so dcc.Location and every callback see it. */
    function navigate(p, replace) {
        var search = p.toString();
        search = search ? "?" + search : "";
        if (search === window.location.search) { return; }
        var url = window.location.pathname + search + window.location.hash;
        if (replace) { window.history.replaceState({}, "", url); } else { window.history.pushState({}, "", url); }
        window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
        applyKiosk();
    }

    /* ---- the wall view ---- */
    function applyKiosk() {
        var on = kioskOn();
        var root = document.documentElement;
        if (root.classList.contains("lm-kiosk") !== on) {
            root.classList.toggle("lm-kiosk", on);
            state.fitKey = "";
            state.rootPx = 0;
            rescalePlots();
        }
        return on;
    }

    function enterKiosk() {
        var p = params();
        p.set("kiosk", "1");
        navigate(p, false);
        try {  // a wall screen wants the whole screen; refused without a click, which is fine
            if (document.documentElement.requestFullscreen && !document.fullscreenElement) {
                document.documentElement.requestFullscreen().catch(function () {});
            }
        } catch (e) { /* no fullscreen here */ }
    }

    function exitKiosk() {
        var p = params();
        p.delete("kiosk");
        p.delete("cycle");
        navigate(p, false);
        try {
            if (document.fullscreenElement && document.exitFullscreen) { document.exitFullscreen().catch(function () {}); }
        } catch (e) { /* nothing to leave */ }
    }

    /* The next country of the cycle: every country (worst first), then all of them again. */
    function cycleStep() {
        var seconds = cycleSeconds();
        if (!seconds || !kioskOn() || !state.countries.length || window.location.pathname !== "/") {
            state.cycleAt = 0;
            return;
        }
        if (!state.cycleAt) { state.cycleAt = now() + seconds * 1000; return; }
        if (now() < state.cycleAt) { return; }
        state.cycleAt = now() + seconds * 1000;
        var p = params();
        var shown = p.getAll("country");
        var steps = [null].concat(state.countries);
        var at = shown.length === 1 ? steps.indexOf(shown[0]) : 0;
        var next = steps[(at + 1) % steps.length];
        p.delete("country");
        if (next !== null) { p.append("country", next); }
        navigate(p, true);
    }

    function cycleLabel() {
        var el = document.getElementById("lm-cycle-label");
        var seconds = cycleSeconds();
        if (!kioskOn() || !seconds || window.location.pathname !== "/") {
            if (el) { el.hidden = true; }
            return;
        }
        if (!el) {
            el = document.createElement("div");
            el.id = "lm-cycle-label";
            el.className = "lm-cycle-label";
            document.body.appendChild(el);
        }
        var shown = params().getAll("country");
        var left = state.cycleAt ? Math.max(0, Math.round((state.cycleAt - now()) / 1000)) : seconds;
        el.textContent = (shown.length === 1 ? shown[0] : "All countries") + " · next in " + left + " s";
        el.hidden = false;
    }

    /* Fit the tiles to the wall's box: the largest type (and so tile) size at which they all show, full cards
       first, compact tiles when full cards would be too small. */
    function overflows(box) { return box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1; }

    function setDensity(density) {
        window.dispatchEvent(new CustomEvent("lm-tiles-density", {detail: density}));
    }

    function nextFrame() { return new Promise(function (resolve) { window.requestAnimationFrame(function () { resolve(); }); }); }

    function largestFit(box, low, high) {
        box.style.fontSize = high + "rem";
        if (!overflows(box)) { return high; }
        for (var i = 0; i < 9; i++) {
            var mid = (low + high) / 2;
            box.style.fontSize = mid + "rem";
            if (overflows(box)) { high = mid; } else { low = mid; }
        }
        box.style.fontSize = low + "rem";
        return overflows(box) ? null : low;
    }

    function fitTiles() {
        var box = document.getElementById("lm-cards");
        if (!box || state.fitting) { return; }
        var tiles = box.querySelector(".lm-tiles");
        var sizes = Array.prototype.map.call(box.querySelectorAll(".lm-card-grid"), function (g) {
            return g.childElementCount;
        });
        var key = [kioskOn(), window.innerWidth, window.innerHeight, tiles && tiles.getAttribute("data-count"),
                   sizes.join(",")].join("|");
        if (key === state.fitKey) { return; }
        state.fitKey = key;
        if (!kioskOn()) {
            box.style.fontSize = "";
            box.classList.remove("lm-fit-scroll");
            setDensity(null);
            return;
        }
        state.fitting = true;
        var many = tiles && parseInt(tiles.getAttribute("data-count"), 10) > FULL_CARDS_MAX_ON_WALL;
        setDensity(many ? "compact" : "full");
        nextFrame().then(function () {
            if (!many && largestFit(box, 0.75, 2.4) !== null) { return null; }
            setDensity("compact");
            return nextFrame().then(function () {
                var fitted = largestFit(box, 0.4, 2.4);
                box.classList.toggle("lm-fit-scroll", fitted === null);  // more than a screen holds: scroll
            });
        }).then(function () {
            state.fitting = false;
            box.setAttribute("data-fitted", "1");
        }, function () { state.fitting = false; });
    }

    /* ---- the page's own age: shown when it has stopped updating (offline, server gone, paused tab) ---- */
    function paused() {
        var pause = document.getElementById("lm-pause-switch");
        return !!(pause && pause.checked);
    }

    function ageWarning() {
        var el = document.getElementById("lm-age-warning");
        var onOverview = !!document.getElementById("lm-cards");  // (a dcc.Store has no element)
        var ageS = Math.round((now() - state.lastOk) / 1000);
        var limitS = (2 * state.intervalMs) / 1000 + 5;
        var offline = navigator.onLine === false;
        var show = onOverview && !paused() && (offline || ageS > limitS);
        if (!show) {
            if (el) { el.hidden = true; }
            return;
        }
        if (!el) {
            el = document.createElement("div");
            el.id = "lm-age-warning";
            el.className = "lm-age-warning";
            el.setAttribute("role", "alert");
            document.body.appendChild(el);
        }
        var when = new Date(state.lastOk).toISOString().substring(11, 19);
        el.textContent = "Data is " + ageS + " s old: this page last updated at " + when + " UTC. " +
            (offline ? "The browser is offline." : "The monitor is not answering; check the network or the app.");
        el.hidden = false;
    }

    /* ---- Plotly text follows the page's type (12 px at 4K otherwise) ---- */
    /* Read once per window size and view (getComputedStyle forces a style pass when the page is dirty, which
       inside every Plotly.react of a refresh cost tens of ms). */
    function plotScale() {
        if (!state.rootPx) {
            state.rootPx = parseFloat(window.getComputedStyle(document.documentElement).fontSize) || 16;
        }
        return Math.round((state.rootPx / 16) * 100) / 100;
    }

    function scaleFonts(node, s, seen) {
        if (!node || typeof node !== "object" || seen.indexOf(node) >= 0) { return; }
        seen.push(node);
        Object.keys(node).forEach(function (key) {
            var value = node[key];
            if (/font$/i.test(key) && value && typeof value === "object" && typeof value.size === "number") {
                value.size = Math.round(value.size * s * 10) / 10;
            }
            if (value && typeof value === "object") { scaleFonts(value, s, seen); }
        });
    }

    function scaledLayout(layout, s) {
        if (!layout || Math.abs(s - 1) < 0.02) { return layout; }
        var out = JSON.parse(JSON.stringify(layout));
        scaleFonts(out, s, []);
        out.font = out.font || {};
        if (typeof out.font.size !== "number") { out.font.size = Math.round(12 * s * 10) / 10; }
        out.hoverlabel = out.hoverlabel || {};
        out.hoverlabel.font = out.hoverlabel.font || {};
        if (typeof out.hoverlabel.font.size !== "number") { out.hoverlabel.font.size = Math.round(13 * s * 10) / 10; }
        if (out.margin) {
            ["l", "r", "t", "b"].forEach(function (k) {
                if (typeof out.margin[k] === "number") { out.margin[k] = Math.round(out.margin[k] * s); }
            });
        }
        return out;
    }

    function wrapPlotly() {
        var P = window.Plotly;
        if (!P || P.__lmScaled) { return; }
        var react = P.react, newPlot = P.newPlot;
        function wrapped(original) {
            return function (gd, data, layout, config) {
                var s = plotScale();
                if (data && !Array.isArray(data) && typeof data === "object" && "data" in data) {
                    gd.__lmLayout = data.layout;
                    var figure = Object.assign({}, data, {layout: scaledLayout(data.layout, s)});
                    gd.__lmScale = s;
                    return original.call(P, gd, figure);
                }
                gd.__lmLayout = layout;
                gd.__lmScale = s;
                return original.call(P, gd, data, scaledLayout(layout, s), config);
            };
        }
        P.react = wrapped(react);
        P.newPlot = wrapped(newPlot);
        P.__lmScaled = true;
        P.__lmReact = react;
    }

    function rescalePlots() {
        var P = window.Plotly, s = plotScale();
        if (!P || !P.__lmReact || s === state.scale) { return; }
        state.scale = s;
        Array.prototype.forEach.call(document.querySelectorAll(".js-plotly-plot"), function (gd) {
            if (gd.__lmLayout && gd.__lmScale !== s && gd.data) {
                gd.__lmScale = s;
                P.__lmReact.call(P, gd, gd.data, scaledLayout(gd.__lmLayout, s), gd._context);
            }
        });
    }

    /* ---- wiring ---- */
    /* Every second: cheap reads only, so an idle page costs next to nothing; the fit and the Plotly scale
       run only on the wall, or when the window or the view changes (resize and navigation events). */
    function tick() {
        var kiosk = applyKiosk();
        ageWarning();
        if (kiosk) {
            cycleStep();
            cycleLabel();
            fitTiles();
        } else if (state.fitKey.indexOf("true") === 0) {
            fitTiles();  // just left the wall: undo its fit
        }
    }

    function changed() {
        tick();
        fitTiles();
        rescalePlots();
        cycleLabel();
    }

    document.addEventListener("click", function (event) {
        var target = event.target && event.target.closest ? event.target : null;
        if (!target) { return; }
        if (target.closest("#lm-kiosk-button")) { event.preventDefault(); enterKiosk(); }
        if (target.closest("#lm-kiosk-exit")) { event.preventDefault(); exitKiosk(); }
    });
    document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && kioskOn()) { exitKiosk(); }
    });
    window.addEventListener("popstate", function () { window.setTimeout(changed, 0); });
    window.addEventListener("_dashprivate_pushstate", function () { window.setTimeout(changed, 0); });
    window.addEventListener("resize", function () { state.rootPx = 0; window.setTimeout(changed, 50); });
    window.addEventListener("lm-tiles-mounted", function () {
        state.fitKey = "";
        window.setTimeout(fitTiles, 0);
    });
    window.addEventListener("offline", ageWarning);
    window.addEventListener("online", ageWarning);
    applyKiosk();  // before Dash renders, so a wall screen never shows the chrome first
    wrapPlotly();
    window.setInterval(tick, TICK_MS);

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        latencyWall: {
            /* The overview's clientside callback: order toggle -> URL, refresh stamp, the wall's countries. */
            overview: function (order, stamp, wall) {
                var triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) {
                    return t.prop_id;
                });
                if (triggered.indexOf("lm-order-toggle.value") >= 0 && order) {
                    var p = params();
                    if (order === "name") { p.set("order", "name"); } else { p.delete("order"); }
                    navigate(p, false);
                }
                if (stamp && triggered.indexOf("lm-overview-stamp.data") >= 0) {
                    state.lastOk = Date.now() + state.skewMs;
                    state.intervalMs = stamp.interval_ms || DEFAULT_INTERVAL_MS;
                }
                if (wall && Array.isArray(wall.countries)) { state.countries = wall.countries.slice(); }
                window.setTimeout(function () { fitTiles(); ageWarning(); }, 0);
                return window.dash_clientside.no_update;
            }
        }
    });
    /* For tests and the benchmark: the state above, and a clock shift to see the age warning without waiting. */
    window.latencyWall = {state: state, fit: function () { state.fitKey = ""; fitTiles(); }, tick: tick,
                          plotScale: plotScale};
}());
