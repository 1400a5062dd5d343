// fieldgate dispatcher console: map, list, incident view, actions, live
// updates (server-sent events) and numbers. Talks only to this origin.
"use strict";
(function () {
  const $ = (s, el) => (el || document).querySelector(s);
  const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
  const st = {
    session: null, lang: "de", items: new Map(), selected: new Set(), open: null,
    map: null, cluster: null, markers: new Map(), districts: null, es: null, view: "map",
  };
  window.fg = {
    state: st,
    hasMarker: (c) => { const m = st.markers.get(c); return !!(m && m.fgShown && st.cluster.hasLayer(m)); },
    visibleCases: () => $$("#list li").map((li) => li.dataset.case),
    fmtTime: (iso) => fmtTime(iso),
  };

  // ---- texts ---------------------------------------------------------
  function t(key, args) {
    const texts = window.FG_TEXTS[st.lang] || window.FG_TEXTS.de;
    let s = texts[key] ?? window.FG_TEXTS.de[key] ?? key;
    for (const [k, v] of Object.entries(args || {})) s = s.split("{" + k + "}").join(String(v ?? ""));
    return s;
  }
  function applyTexts() {
    document.documentElement.lang = st.lang;
    $$("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    $$("[data-tp]").forEach((el) => { el.placeholder = t(el.dataset.tp); });
    // Fields without a visible label get their name for screen readers (WCAG 2.1, 4.1.2).
    $$("[data-ta]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.ta)); });
    $$(".lang-field").forEach((el) => { el.value = st.lang; });
    const oidc = $("#sso"); if (oidc) oidc.href = "/console/auth/oidc?lang=" + st.lang;
  }
  // One formatter per language: building an Intl.DateTimeFormat per call
  // costs more than everything else in a 1,000-row list. Times are shown
  // in the town's zone (time_zone of the configuration, with its daylight
  // saving time), not in whatever zone the dispatcher's computer is set to.
  const formatters = {};
  const fmtTime = (iso) => {
    if (!iso) return t("none");
    const f = formatters[st.lang] ||= new Intl.DateTimeFormat(st.lang === "en" ? "en-GB" : "de-DE",
      { dateStyle: "short", timeStyle: "short", timeZone: st.session?.time_zone || "Europe/Berlin" });
    return f.format(new Date(iso));
  };
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  function fmtDur(sec) {
    if (sec == null) return t("none");
    if (sec < 90) return Math.round(sec) + " s";
    if (sec < 5400) return Math.round(sec / 60) + " min";
    if (sec < 172800) return (sec / 3600).toFixed(1) + " h";
    return (sec / 86400).toFixed(1) + " d";
  }
  function toast(msg, bad) {
    const el = $("#toast"); el.textContent = msg; el.className = "toast" + (bad ? " bad" : ""); el.hidden = false;
    // A failure stays longer: it may name several cases and reasons.
    clearTimeout(toast.timer); toast.timer = setTimeout(() => { el.hidden = true; }, bad ? 12000 : 3500);
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v); else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) if (k != null) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  // ---- HTTP ----------------------------------------------------------
  // api calls /api/v1 with the session cookie. When the session ended
  // (expired, signed out in another tab: 401) or a newer sign-in changed
  // its CSRF token (403 csrf), it asks /console/session once: signed in
  // again (in another tab), it retries with the new token; otherwise it
  // says so in a banner and leaves the page as it is, so nothing typed is
  // lost and the same button works once the user has signed in again.
  async function api(method, path, body, retried) {
    const opt = { method, headers: { Accept: "application/json", "Accept-Language": st.lang }, credentials: "same-origin" };
    if (method !== "GET") opt.headers["X-CSRF-Token"] = st.session.csrf;
    if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
    const r = await fetch(path, opt);
    const data = await r.json().catch(() => ({}));
    if ((r.status === 401 || (r.status === 403 && /csrf$/.test(data.type || ""))) && !retried) {
      if (await refreshSession()) return api(method, path, body, true);
    }
    if (r.status === 401) { const e = new Error(t("session_expired")); e.status = 401; e.data = { message: t("session_expired") }; throw e; }
    if (!r.ok) { const e = new Error(data.message || data.detail || r.statusText); e.status = r.status; e.data = data; throw e; }
    return data;
  }
  // refreshSession asks whether this browser is signed in (again) and
  // takes the CSRF token of its session; it shows or hides the banner.
  async function refreshSession() {
    let s;
    try { s = await (await fetch("/console/session", { credentials: "same-origin" })).json(); } catch (_) { return false; }
    const ok = !!s.signed_in;
    if (ok) { st.session.csrf = s.csrf; st.session.user = s.user; }
    $("#expired").hidden = ok;
    return ok;
  }

  // ---- start ---------------------------------------------------------
  async function start() {
    const q = new URLSearchParams(location.search);
    st.lang = q.get("lang") || localStorage.getItem("fg.lang") || (navigator.language || "de").slice(0, 2);
    if (st.lang !== "en") st.lang = "de";
    $$(".lang").forEach((b) => b.addEventListener("click", () => { st.lang = b.dataset.lang; localStorage.setItem("fg.lang", st.lang); applyTexts(); if (st.session?.user) renderAll(); }));
    const r = await fetch("/console/session", { credentials: "same-origin" });
    if (!r.ok) throw new Error("GET /console/session: " + r.status);
    st.session = await r.json();
    applyTexts();
    if (!st.session.signed_in) {
      $("#login").hidden = false;
      $("#sso").hidden = !st.session.oidc;
      if (q.get("error")) { $("#login-error").textContent = t("err_" + q.get("error")); $("#login-error").hidden = false; }
      return;
    }
    if (!q.get("lang") && !localStorage.getItem("fg.lang")) { st.lang = st.session.user.language || "de"; applyTexts(); }
    history.replaceState(null, "", "/console/");
    $("#app").hidden = false;
    $("#who").textContent = st.session.user.name;
    $("#who").title = st.session.user.roles.join(", ");
    $("#sound").checked = localStorage.getItem("fg.sound") === "1";
    $("#sound").addEventListener("change", (e) => localStorage.setItem("fg.sound", e.target.checked ? "1" : "0"));
    $("#logout").addEventListener("click", logout);
    $("#expired-login").addEventListener("click", () => setTimeout(refreshSession, 1000));
    $$(".tab").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
    fillSelects();
    bindFilters();
    bindPhotoView();
    $("#detail").addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("#photo-view").open) closeDetail(); });
    initMap();
    await loadAll();
    connect();
  }

  async function logout() {
    await fetch("/console/auth/logout", { method: "POST", headers: { "X-CSRF-Token": st.session.csrf }, credentials: "same-origin" });
    location.href = "/console/";
  }

  function showView(v) {
    st.view = v;
    $$(".tab").forEach((b) => b.classList.toggle("active", b.dataset.view === v));
    $("#view-map").hidden = v !== "map"; $("#view-numbers").hidden = v !== "numbers";
    if (v === "numbers") loadNumbers(); else st.map.invalidateSize();
  }

  function fillSelects() {
    const teams = st.session.teams;
    const teamOpts = (sel) => teams.forEach((tm) => sel.append(el("option", { value: tm.id }, tm.name)));
    teamOpts($("#f-team")); teamOpts($("#bulk-team"));
    st.session.districts.forEach((d) => $("#f-district").append(el("option", { value: d }, d)));
    ["received", "needs_location", "routed", "acknowledged", "escalated", "reassigned", "resolved", "rejected", "merged"]
      .forEach((s) => $("#f-state").append(el("option", { value: s, "data-t": "st_" + s }, t("st_" + s))));
    $("#bulk-team").hidden = $("#bulk-reassign").hidden = $("#bulk-merge").hidden = !st.session.user.dispatcher;
    refreshSaved();
  }

  // ---- filters -------------------------------------------------------
  const filterIds = ["q", "status", "team", "state", "district", "urgency", "age"];
  function filters() { const f = {}; filterIds.forEach((k) => { f[k] = $("#f-" + k).value; }); return f; }
  function setFilters(f) { filterIds.forEach((k) => { $("#f-" + k).value = f[k] ?? (k === "status" ? "open" : ""); }); }
  function bindFilters() {
    filterIds.forEach((k) => $("#f-" + k).addEventListener(k === "q" ? "input" : "change", () => {
      localStorage.setItem("fg.filter", JSON.stringify(filters()));
      st.rowLimit = rowStep; // another filter: its newest rows first
      if (k === "status") loadAll(); else renderAll();
    }));
    try { setFilters(JSON.parse(localStorage.getItem("fg.filter") || "{}")); } catch (_) { /* a broken saved filter is ignored */ }
    $("#f-save").addEventListener("click", () => {
      const name = prompt(t("save_filter_name")); if (!name) return;
      const saved = JSON.parse(localStorage.getItem("fg.saved") || "{}"); saved[name] = filters();
      localStorage.setItem("fg.saved", JSON.stringify(saved)); refreshSaved(name);
    });
    $("#f-delete").addEventListener("click", () => {
      const saved = JSON.parse(localStorage.getItem("fg.saved") || "{}"); delete saved[$("#f-saved").value];
      localStorage.setItem("fg.saved", JSON.stringify(saved)); refreshSaved();
    });
    $("#f-saved").addEventListener("change", (e) => {
      const saved = JSON.parse(localStorage.getItem("fg.saved") || "{}"); const f = saved[e.target.value];
      if (f) { setFilters(f); loadAll(); }
    });
    // One listener for the whole list (1,000 rows need no 2,000 handlers).
    $("#list").addEventListener("click", (e) => {
      const li = e.target.closest("li"); if (!li) return;
      if (e.target.matches("input[type=checkbox]")) {
        if (e.target.checked) st.selected.add(li.dataset.case); else st.selected.delete(li.dataset.case);
        updateBulk(); return;
      }
      openDetail(li.dataset.case);
    });
    $("#more-load").addEventListener("click", loadOlder);
    $("#rows-more").addEventListener("click", () => { st.rowLimit += rowStep; renderList(visible()); });
    $("#more-search").addEventListener("click", searchAll);
    $("#select-all").addEventListener("change", (e) => {
      st.selected.clear(); if (e.target.checked) window.fg.visibleCases().forEach((c) => st.selected.add(c)); renderList(visible());
    });
    $("#bulk-resolve").addEventListener("click", () => bulk("resolve"));
    $("#bulk-reassign").addEventListener("click", () => bulk("reassign", { team: $("#bulk-team").value }));
    // Bulk merge: every selected case becomes a duplicate of the oldest one.
    $("#bulk-merge").addEventListener("click", () => {
      const sel = Array.from(st.selected).map((c) => st.items.get(c)).filter(Boolean).sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
      if (sel.length < 2) { toast(t("merge_need_two"), true); return; }
      st.selected.delete(sel[0].case_number);
      bulk("merge", { into: sel[0].case_number });
    });
  }
  function refreshSaved(sel) {
    const s = $("#f-saved"); const saved = JSON.parse(localStorage.getItem("fg.saved") || "{}");
    s.replaceChildren(el("option", { value: "", "data-t": "saved_filters" }, t("saved_filters")), ...Object.keys(saved).map((n) => el("option", { value: n }, n)));
    if (sel) s.value = sel;
  }
  function matches(it, f, now) {
    if (f.status === "open" && !it.open) return false;
    if (f.status === "closed" && it.open) return false;
    if (f.team && it.team !== f.team) return false;
    if (f.state && it.state !== f.state) return false;
    if (f.district && it.district !== f.district) return false;
    if (f.urgency && it.priority !== f.urgency) return false;
    if (f.age) {
      const age = (now - Date.parse(it.created_at)) / 1000, lim = Number(f.age);
      if (lim > 0 && age > lim) return false;
      if (lim < 0 && age < -lim) return false;
    }
    if (f.q) {
      const q = f.q.toLowerCase();
      if (!it.case_number.includes(q) && !(it.text || "").toLowerCase().includes(q)) return false;
    }
    return true;
  }
  function visible() {
    const f = filters(), now = Date.now();
    return Array.from(st.items.values()).filter((it) => matches(it, f, now))
      .sort((a, b) => (b.created_at > a.created_at ? 1 : b.created_at < a.created_at ? -1 : 0));
  }

  // ---- data ----------------------------------------------------------
  // The list is read in pages of 1,000, newest first: firstPages of them
  // at first (20,000 cases), morePages more with each "load older". A town
  // with more cases for the status (years of closed ones under "all") gets
  // the newest ones and a notice that older ones are not loaded, with the
  // ways to them: load older pages, or apply the filters on the server
  // ("search all cases"). st.more is the cursor of the first page not
  // loaded ("" when everything is).
  const pageSize = 1000, firstPages = 20, morePages = 10, searchPages = 5;
  st.pages = firstPages; st.more = ""; st.search = null;
  const rowStep = 2000;
  st.rowLimit = rowStep;
  const newer = (a, b) => (Date.parse(a?.updated_at || "") || 0) >= (Date.parse(b?.updated_at || "") || 0);
  // readPages reads up to n pages of the list from cursor (query: the
  // filters) into items, keeping a case's newer version; it returns the
  // cursor of the next page ("" at the end), or null when a newer load
  // (seq) took over.
  async function readPages(query, cursor, n, items, seq) {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const page = await api("GET", "/api/v1/incidents?limit=" + pageSize + "&" + query + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      (window.fg.pageMs ||= []).push(Math.round(performance.now() - t0));
      if (seq !== loadSeq) return null;
      page.items.forEach((it) => { if (!items.has(it.case_number) || newer(it, items.get(it.case_number))) items.set(it.case_number, it); });
      if (!page.next) return "";
      cursor = page.next;
    }
    return cursor;
  }
  // loadAll loads the list anew, as many pages as were loaded before (a
  // reconnect keeps "load older"; another status starts again at
  // firstPages). On a slow network loads overlap (the status switched
  // twice, a reconnect): only the newest one's answer is used, and changes
  // the stream brought while it loaded are laid over its pages (they may be
  // newer than the snapshot the pages were read from).
  let loadSeq = 0;
  async function loadAll() {
    const seq = ++loadSeq;
    const status = $("#f-status").value || "open";
    if (st.loadedStatus !== status) { st.pages = firstPages; st.loadedStatus = status; }
    const items = new Map(), since = new Map();
    st.sinceLoad = since;
    const more = await readPages("status=" + status, "", st.pages, items, seq);
    if (more === null) return;
    for (const [c, it] of since) if (!items.has(c) || newer(it, items.get(c))) items.set(c, it);
    st.sinceLoad = null;
    st.items = items; st.more = more; st.search = null;
    window.fg.loads = (window.fg.loads || 0) + 1;
    renderAll();
  }
  // loadOlder reads the next morePages pages after what is loaded.
  async function loadOlder() {
    if (!st.more) return;
    const seq = loadSeq, btn = $("#more-load");
    btn.disabled = true;
    try {
      const more = await readPages("status=" + st.loadedStatus, st.more, morePages, st.items, seq);
      if (more === null) return;
      st.more = more; st.pages += morePages;
      renderAll();
    } catch (e) { toast(t("failed", { m: e.message }), true); } finally { btn.disabled = false; }
  }
  // searchAll applies the filters on the server (GET /api/v1/incidents
  // with q, team, state, district, urgency, max_age/min_age) to find
  // matching cases among those not loaded; they join the list, where the
  // same filters show them.
  async function searchAll() {
    const f = filters(), seq = loadSeq, btn = $("#more-search");
    const q = new URLSearchParams({ status: st.loadedStatus });
    for (const [k, name] of [["q", "q"], ["team", "team"], ["state", "state"], ["district", "district"], ["urgency", "urgency"]]) if (f[k]) q.set(name, f[k]);
    const age = Number(f.age);
    if (age > 0) q.set("max_age", age + "s"); else if (age < 0) q.set("min_age", -age + "s");
    const found = new Map();
    btn.disabled = true;
    try {
      const more = await readPages(q.toString(), "", searchPages, found, seq);
      if (more === null) return;
      for (const [c, it] of found) if (!st.items.has(c) || newer(it, st.items.get(c))) st.items.set(c, it);
      st.search = { key: JSON.stringify(f), n: found.size, more: more !== "" };
      renderAll();
    } catch (e) { toast(t("failed", { m: e.message }), true); } finally { btn.disabled = false; }
  }
  // renderMore shows whether older cases are not loaded, and the search's
  // result for the current filters.
  function renderMore() {
    const box = $("#more"), f = filters();
    const filtered = filterIds.some((k) => k !== "status" && f[k]);
    const searched = st.search && st.search.key === JSON.stringify(f) ? st.search : null;
    box.hidden = !st.more && !searched;
    $("#more-text").textContent = st.more ? t("more_truncated", { n: fmtNum(st.items.size) }) : "";
    $("#more-load").hidden = !st.more;
    $("#more-load").textContent = t("more_load", { n: fmtNum(morePages * pageSize) });
    $("#more-search").hidden = !st.more || !filtered;
    $("#more-searched").textContent = searched ? t(searched.more ? "more_search_capped" : "more_searched", { n: fmtNum(searched.n) }) : "";
  }
  const fmtNum = (n) => n.toLocaleString(st.lang === "en" ? "en-GB" : "de-DE");

  // connect opens the event stream. The stream carries no history: after
  // any interruption (the server restarted, the laptop slept, the network
  // dropped) the list is loaded anew once the stream is back, so nothing
  // that changed meanwhile is missing and nothing is doubled (cases are
  // keyed by number). EventSource retries by itself after a network
  // error, but gives up for good on an HTTP error (a proxy's 502 while
  // the server restarts, 401 once the session ended): then the page
  // tries again every few seconds, asking first whether it is still
  // signed in.
  //
  // A stream can also stall while it looks open: a proxy that buffers, a
  // connection left half-open when the laptop slept or the network
  // changed. EventSource reports no error then, and the list would show
  // "live" while nothing arrives. The server sends a "heartbeat" event
  // when the stream opens and every interval_ms after; when nothing has
  // come for 2.5 intervals (plus 2 s), the page drops the stream, shows
  // it as not live, and connects again, which reloads the list.
  function connect() {
    if (st.es) st.es.close();
    clearTimeout(connect.timer);
    clearInterval(connect.watchdog);
    const es = new EventSource("/api/v1/events");
    st.es = es;
    let heard = Date.now(), interval = 15000;
    const alive = () => { heard = Date.now(); };
    connect.watchdog = setInterval(() => {
      if (st.es !== es) { clearInterval(connect.watchdog); return; }
      if (es.readyState === EventSource.OPEN && Date.now() - heard > 2.5 * interval + 2000) {
        window.fg.stalls = (window.fg.stalls || 0) + 1;
        $("#live").textContent = t("live_off"); $("#live").className = "live";
        st.streamLost = true;
        connect();
      }
    }, 1000);
    es.addEventListener("heartbeat", (ev) => {
      alive();
      const ms = JSON.parse(ev.data).interval_ms;
      if (ms > 0) interval = ms;
    });
    es.onopen = () => {
      alive();
      $("#live").textContent = t("live_on"); $("#live").className = "live on";
      if (st.streamLost) { st.streamLost = false; window.fg.resyncs = (window.fg.resyncs || 0) + 1; loadAll().catch(() => {}); }
    };
    es.onerror = () => {
      $("#live").textContent = t("live_off"); $("#live").className = "live";
      st.streamLost = true;
      if (es.readyState === EventSource.CLOSED && st.es === es) {
        connect.timer = setTimeout(async () => { if (await refreshSession()) connect(); else es.onerror(); }, 3000);
      }
    };
    es.addEventListener("resync", () => { alive(); loadAll(); });
    es.addEventListener("incident", (ev) => {
      alive();
      const ch = JSON.parse(ev.data); const it = ch.incident;
      const isNew = !st.items.has(it.case_number);
      st.items.set(it.case_number, it);
      st.sinceLoad?.set(it.case_number, it);
      if (isNew && it.open && (it.priority === "urgent" || it.urgent) && $("#sound").checked) beep();
      if (isNew && ch.kind === "received") toast(t("new_case", { c: it.case_number }));
      scheduleRender();
      if (st.open === it.case_number) openDetail(it.case_number, true, true);
    });
  }
  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return; renderPending = true;
    requestAnimationFrame(() => { renderPending = false; renderAll(); });
  }
  function beep() {
    try {
      const ctx = new AudioContext(); const o = ctx.createOscillator(); const g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.15; o.connect(g); g.connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 0.35);
    } catch (_) { /* no audio device */ }
  }

  // ---- map -----------------------------------------------------------
  function initMap() {
    st.map = L.map("map", { zoomControl: true, maxZoom: 19, minZoom: 8 }).setView([51.03, 7.59], 13);
    if (st.session.tile_url) L.tileLayer(st.session.tile_url, { attribution: st.session.tile_attribution || "", maxZoom: 19 }).addTo(st.map);
    st.cluster = L.markerClusterGroup({ disableClusteringAtZoom: 16, maxClusterRadius: 45 });
    st.map.addLayer(st.cluster);
    fetch("/console/districts.geojson", { credentials: "same-origin" }).then((r) => r.json()).then((gj) => {
      st.districts = L.geoJSON(gj, {
        style: () => ({ color: "#2a6fb0", weight: 1.5, fillColor: "#8fb8de", fillOpacity: 0.18 }),
        // Leaflet takes a tooltip string as HTML: the name from the rules' file is escaped.
        onEachFeature: (f, layer) => { if (f.properties?.name) layer.bindTooltip(esc(f.properties.name), { permanent: true, direction: "center", className: "district-label" }); },
      }).addTo(st.map);
      st.districts.bringToBack();
      if (gj.features?.length) st.map.fitBounds(st.districts.getBounds(), { padding: [20, 20] });
    }).catch(() => {});
  }
  function markerFor(it) {
    const cls = "pin " + (it.open ? (it.state === "acknowledged" ? "acknowledged" : "") + (it.priority === "urgent" || it.priority === "high" ? " urgent" : "") : "closed");
    let m = st.markers.get(it.case_number);
    if (!m) {
      m = L.marker([it.position.lat, it.position.lon], { title: it.case_number });
      m.fgCase = it.case_number;
      m.on("click", () => openDetail(m.fgCase));
      st.markers.set(it.case_number, m);
    } else {
      const ll = m.getLatLng();
      if (ll.lat !== it.position.lat || ll.lng !== it.position.lon) m.setLatLng([it.position.lat, it.position.lon]);
    }
    // A new icon only when its look changed: building icons is what costs.
    if (m.fgClass !== cls) {
      m.fgClass = cls;
      m.setIcon(L.divIcon({ className: "", html: '<div class="' + cls + '" data-case="' + esc(it.case_number) + '"></div>', iconSize: [16, 16], iconAnchor: [8, 8] }));
    }
    m.options.title = it.case_number + " · " + (it.text || "").slice(0, 60);
    return m;
  }
  // renderMarkers changes the cluster layer by difference, so filtering
  // 1,000 pins moves only those that appear or disappear.
  function renderMarkers(list) {
    const want = new Set(), add = [];
    for (const it of list) {
      if (!it.position) continue;
      const m = markerFor(it);
      want.add(m);
      if (!m.fgShown) add.push(m);
    }
    const remove = [];
    for (const m of st.markers.values()) if (m.fgShown && !want.has(m)) { remove.push(m); m.fgShown = false; }
    if (remove.length) st.cluster.removeLayers(remove);
    if (add.length) { st.cluster.addLayers(add); add.forEach((m) => { m.fgShown = true; }); }
  }

  // ---- list ----------------------------------------------------------
  function renderAll() {
    const t0 = performance.now();
    const list = visible();
    const t1 = performance.now();
    renderList(list);
    const t2 = performance.now();
    renderMarkers(list);
    const t3 = performance.now();
    renderMore();
    window.fg.lastRenderMs = t3 - t0;
    window.fg.lastSplit = { filter: t1 - t0, list: t2 - t1, markers: t3 - t2 };
    window.fg.renders = (window.fg.renders || 0) + 1;
  }
  // renderList writes the rows as one HTML string (every value escaped):
  // for 1,000 rows that is several times faster than element by element.
  // It writes the first st.rowLimit of them (2,000; "show more" adds
  // 2,000): every live change redraws the list, and 20,000 rows took 1.3-2
  // s to draw (api/console/web/test/more11.mjs), while nobody scrolls
  // through more than a few hundred; the rest is counted, reached with a
  // filter, and on the map.
  function renderList(all) {
    const list = all.length > st.rowLimit ? all.slice(0, st.rowLimit) : all;
    const rows = new Array(list.length);
    // The rows' labels from two texts split once around the case number
    // (formatting a text per row costs as much as the rest of the row).
    const [selA, selB] = t("select_case", { c: "\u0001" }).split("\u0001"), [openA, openB] = t("open_case", { c: "\u0001" }).split("\u0001");
    for (let i = 0; i < list.length; i++) {
      const it = list[i], c = esc(it.case_number);
      const prio = it.priority === "urgent" || it.priority === "high" ? '<span class="badge ' + it.priority + '">' + esc(t("prio_" + it.priority)) + "</span>" : "";
      const meta = [teamName(it.team), it.district, fmtTime(it.created_at), it.owner ? t("owner", { o: it.owner }) : null].filter(Boolean).join(" · ");
      rows[i] = '<li data-case="' + c + '" class="' + (it.open ? "" : "closed") + (st.open === it.case_number ? " sel" : "") + '">' +
        '<input type="checkbox" aria-label="' + esc(selA) + c + esc(selB) + '"' + (st.selected.has(it.case_number) ? " checked" : "") + ">" + rowThumb(it) +
        '<div class="body"><div class="line1"><button type="button" class="case" aria-label="' + esc(openA) + c + esc(openB) + '">' + c + "</button>" +
        '<span class="badge s-' + esc(it.state) + '">' + esc(t("st_" + it.state)) + "</span>" + prio + "</div>" +
        '<div class="text">' + esc(it.text || "—") + '</div><div class="meta">' + esc(meta) + "</div></div></li>";
    }
    // The rows are new elements: a keyboard user's focus on a row (its
    // case button or checkbox) is put back on the same case's row.
    const act = document.activeElement, fc = act?.closest?.("#list li")?.dataset.case;
    $("#list").innerHTML = rows.join("");
    if (fc) $(`#list li[data-case="${CSS.escape(fc)}"] ${act.matches("input") ? "input" : "button.case"}`)?.focus({ preventScroll: true });
    $("#count").textContent = t("count", { n: fmtNum(all.length) });
    const rest = all.length - list.length;
    $("#rows-rest").hidden = rest <= 0;
    if (rest > 0) {
      $("#rows-rest-text").textContent = t("rows_rest", { n: fmtNum(rest) });
      $("#rows-more").textContent = t("rows_more", { n: fmtNum(Math.min(rest, rowStep)) });
    }
    updateBulk();
  }
  // rowThumb is the first photo's thumbnail of a row with photos, as a
  // CSS background: rows off screen are not styled (content-visibility),
  // so only the rows shown load theirs, and 1,000 rows cost no image
  // elements. Its URL is stable (GET /api/v1/incidents/{case}/thumbnail
  // redirects to a presigned link), so re-rendering the list fetches
  // nothing again. The browser keeps a failed image for the page too, so
  // the URL carries the incident's updated_at (ignored by the server): a
  // case whose photo was not processed when its row was first drawn (404,
  // an empty box) asks again once the case changes (it is posted to its
  // team after its team copy and thumbnail are made).
  function rowThumb(it) {
    if (!it.media) return "";
    return '<span class="row-thumb" style="background-image:url(/api/v1/incidents/' + encodeURIComponent(it.case_number) +
      "/thumbnail?v=" + encodeURIComponent(it.updated_at || "") + ')"></span>';
  }
  function updateBulk() {
    $("#bulk").hidden = st.selected.size === 0;
    $("#bulk-count").textContent = t("selected", { n: st.selected.size });
  }
  const teamName = (id) => (st.session.teams.find((x) => x.id === id) || {}).name || id || "";

  async function bulk(action, body) {
    const cases = Array.from(st.selected);
    if (action === "resolve" && !confirm(t("confirm_bulk_resolve", { n: cases.length }))) return;
    if (action === "merge" && !confirm(t("confirm_bulk_merge", { n: cases.length, c: body.into }))) return;
    // Which cases failed and why is said, and they stay selected (to look
    // at them or try again); the rest is done.
    const failures = [];
    for (const c of cases) {
      // A reassignment names the team the list showed: a case someone
      // else moved meanwhile is not moved again (409, counted as failed).
      const b = action === "reassign" ? { ...body, from_team: st.items.get(c)?.team } : body;
      try { await api("POST", "/api/v1/incidents/" + encodeURIComponent(c) + "/" + action, b || {}); }
      catch (e) { failures.push(c + ": " + (e.data?.message || e.data?.detail || e.message)); }
    }
    st.selected = new Set(failures.map((f) => f.split(": ")[0])); $("#select-all").checked = false;
    toast(failures.length ? t("failed", { m: failures.length + "/" + cases.length + " – " + failures.join(" · ") }) : t("done"), failures.length > 0);
    renderAll();
  }

  // ---- incident view -------------------------------------------------
  // openDetail shows case c; quiet: no toast on failure; keep: a live
  // redraw, which keeps what the user typed in the view.
  async function openDetail(c, quiet, keep) {
    st.open = c;
    let d;
    try { d = await api("GET", "/api/v1/incidents/" + encodeURIComponent(c)); } catch (e) { if (!quiet) toast(t("failed", { m: e.message }), true); return; }
    if (st.open !== c) return;
    const box = $("#detail");
    const disp = st.session.user.dispatcher;
    const pos = d.position;
    const sections = [
      el("button", { class: "close link", "aria-label": t("close"), title: t("close"), onclick: () => closeDetail() }, "✕"),
      el("h2", { tabindex: "-1" }, d.case_number, " ", el("span", { class: "badge s-" + d.state }, t("st_" + d.state)),
        d.priority === "urgent" || d.priority === "high" ? el("span", { class: "badge " + d.priority }, " " + t("prio_" + d.priority)) : null),
      el("div", { class: "meta" }, [teamName(d.team), d.district, d.category, fmtTime(d.created_at)].filter(Boolean).join(" · ")),
      d.owner ? el("div", {}, t("owner", { o: d.owner })) : null,
      d.merged_into ? el("div", {}, t("merged_into", { c: d.merged_into })) : null,
      d.duplicates.length ? el("div", {}, t("duplicates", { d: d.duplicates.join(", ") })) : null,
      el("section", {}, el("h3", {}, t("text")), el("div", { class: "text" }, d.text || "—")),
      el("section", {}, el("h3", {}, t("position")),
        pos ? el("div", {}, pos.lat.toFixed(5) + ", " + pos.lon.toFixed(5) + " · " + t("src_" + pos.source)) : el("div", {}, t("no_position")),
        el("div", { class: "flags" }, d.flags.map((f) => el("span", { class: "badge" }, t("flag_" + f))))),
    ];
    const photos = d.reports.flatMap((r) => r.media);
    if (photos.length) sections.push(el("section", {}, el("h3", {}, t("photos")), reuseGrid(c, photos)));
    if (d.alerts.length) {
      sections.push(el("section", {}, el("h3", {}, t("alerts")), el("table", { class: "alerts" },
        el("tr", {}, [t("alert_target"), t("alert_level"), t("alert_at"), t("alert_received"), t("alert_read")].map((h) => el("th", {}, h))),
        d.alerts.map((a) => el("tr", {}, el("td", {}, a.target), el("td", {}, a.level), el("td", {}, fmtTime(a.at)),
          el("td", {}, a.received_at ? fmtTime(a.received_at) : t("none")), el("td", {}, a.read_at ? fmtTime(a.read_at) : t("none")))))));
    }
    sections.push(el("section", {}, el("h3", {}, t("actions")), actionsFor(d, disp)));
    sections.push(el("section", {}, el("h3", {}, t("timeline")), el("ol", { class: "timeline" }, d.timeline.map((e) =>
      el("li", {}, el("time", {}, fmtTime(e.at)), eventText(e))))));
    const typed = keep && box.fgCase === c ? keepTyped(box) : null;
    box.replaceChildren(...sections.filter(Boolean));
    box.fgCase = c;
    if (typed) typed();
    box.hidden = false;
    // Opened by the user (not redrawn): the focus goes to the view, so a
    // keyboard or screen-reader user is where the case is.
    if (!quiet) box.querySelector("h2").focus();
    renderList(visible());
  }
  // closeDetail hides the incident view and gives the keyboard focus back
  // to the case's row (the view is also closed with Esc).
  function closeDetail() {
    const c = st.open;
    $("#detail").hidden = true; st.open = null; renderList(visible());
    $(`#list li[data-case="${CSS.escape(c || "")}"] button.case`)?.focus();
  }
  // keepTyped remembers the values of the view's fields and the focus
  // (a reason, a reply being written) and returns a function that puts
  // them back after the view was redrawn for a live change of the case.
  function keepTyped(box) {
    const vals = $$("input[id], select[id]", box).map((f) => [f.id, f.value]);
    const focus = document.activeElement && box.contains(document.activeElement) ? document.activeElement : null;
    const fid = focus?.id, sel = focus && "selectionStart" in focus ? [focus.selectionStart, focus.selectionEnd] : null;
    return () => {
      for (const [id, v] of vals) {
        const f = box.querySelector("#" + CSS.escape(id));
        if (f && v && (!f.options || [...f.options].some((o) => o.value === v))) f.value = v;
      }
      const f = fid && box.querySelector("#" + CSS.escape(fid));
      if (f) { f.focus(); if (sel) try { f.setSelectionRange(sel[0], sel[1]); } catch (_) { /* not a text field */ } }
    };
  }
  // ---- photos --------------------------------------------------------
  // photoGrid shows each attachment as its thumbnail (≤ 320 px) in a fixed
  // box; the thumbnail is a button that opens the team copy in the photo
  // view. Without a thumbnail (not processed yet, HEIC before its copy)
  // the team copy stands in, without either the "no preview" badge.
  function photoGrid(photos) {
    const n = photos.length;
    return el("ul", { class: "photos" }, photos.map((m, i) => {
      const args = { n: i + 1, m: n };
      const src = m.thumbnail_url || m.team_copy_url;
      let preview;
      if (src) {
        const img = el("img", { src, alt: t("photo_alt", args), loading: "lazy", decoding: "async", width: 130, height: 98 });
        // A thumbnail that does not load falls back to the team copy, then to the badge.
        img.addEventListener("error", () => {
          if (m.team_copy_url && img.getAttribute("src") !== m.team_copy_url) img.src = m.team_copy_url;
          else img.closest(".thumb")?.replaceWith(el("div", { class: "badge no-preview" }, t("no_preview")));
        });
        preview = m.team_copy_url
          ? el("button", { type: "button", class: "thumb", title: t("photo_open", args), "aria-label": t("photo_open", args), onclick: () => openPhoto(photos, i) }, img)
          : el("span", { class: "thumb" }, img);
      } else {
        preview = el("div", { class: "badge no-preview" }, t("no_preview"));
      }
      return el("li", {}, el("figure", {}, preview,
        el("figcaption", {}, el("a", { href: m.original_url, target: "_blank", rel: "noopener" }, t("original")), " · " + m.content_type)));
    }));
  }
  // reuseGrid keeps the photo grid of the case on screen when the view is
  // redrawn for a change of the case (live updates) and its photos are
  // the same objects: the links are signed anew on every load, and new
  // links would fetch every picture again and take the focus from it.
  // A grid older than a minute is rebuilt, so its links stay valid
  // (s3.presign_ttl is far longer).
  function reuseGrid(c, photos) {
    const object = (u) => (u || "").split("?")[0];
    const key = c + " " + photos.map((m) => object(m.thumbnail_url) + "|" + object(m.team_copy_url) + "|" + m.original_url).join(" ");
    const old = $("#detail .photos");
    if (old && old.fgKey === key && Date.now() - old.fgAt < 60000 && st.lang === old.fgLang) return old;
    const grid = photoGrid(photos);
    Object.assign(grid, { fgKey: key, fgAt: Date.now(), fgLang: st.lang });
    return grid;
  }
  // openPhoto shows photo i's team copy in the modal photo view (Esc
  // closes it and gives the focus back to the thumbnail; ←/→ step).
  function openPhoto(photos, i) {
    const dlg = $("#photo-view");
    const withCopy = photos.map((m, k) => [m, k]).filter(([m]) => m.team_copy_url);
    let at = withCopy.findIndex(([, k]) => k === i);
    const show = () => {
      const [m, k] = withCopy[at], args = { n: k + 1, m: photos.length };
      $("#photo-view-title").textContent = t("photo_alt", args);
      $("#photo-full").alt = t("photo_full_alt", args);
      $("#photo-full").src = m.team_copy_url;
      $("#photo-original").href = m.original_url;
      $("#photo-prev").hidden = $("#photo-next").hidden = withCopy.length < 2;
    };
    dlg.fgStep = (by) => { at = (at + by + withCopy.length) % withCopy.length; show(); };
    show();
    if (!dlg.open) dlg.showModal();
    $("#photo-close").focus();
  }
  function bindPhotoView() {
    const dlg = $("#photo-view");
    $("#photo-close").addEventListener("click", () => dlg.close());
    $("#photo-prev").addEventListener("click", () => dlg.fgStep(-1));
    $("#photo-next").addEventListener("click", () => dlg.fgStep(1));
    dlg.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft") dlg.fgStep(-1); else if (e.key === "ArrowRight") dlg.fgStep(1);
    });
    // A click on the backdrop (outside the picture and its bar) closes it.
    dlg.addEventListener("click", (e) => { if (e.target === dlg) dlg.close(); });
    dlg.addEventListener("close", () => { $("#photo-full").removeAttribute("src"); });
  }

  function eventText(e) {
    const d = e.detail || {};
    const args = { actor: e.actor, via: e.via, team: teamName(d.team), rule: d.rule || "", to_team: teamName(d.to || d.team || d.to_team), reason: d.reason || "", why: d.reason ? " – " + d.reason : "", level: d.level ?? "", kind: e.kind,
      // A post names its room (an incident with copies to other teams is
      // posted once per room): the room's local part, "tiefbau" of
      // tiefbau@conference.stadt.example.
      room: String(d.room || "").split("@")[0] };
    if (d.flag) args.flag = window.FG_TEXTS.de["flag_" + d.flag] ? t("flag_" + d.flag) : d.flag;
    const key = "ev_" + e.kind;
    if (window.FG_TEXTS.de[key]) return t(key, args);
    // A kind the console has no text for: the server's name of it (label,
    // in the console's language: api() sends it as Accept-Language).
    return e.label && e.label !== e.kind ? e.label + (e.actor ? " (" + e.actor + ")" : "") : t("ev_other", args);
  }
  function actionsFor(d, disp) {
    const c = d.case_number;
    const act = (path, body) => async () => {
      try { const r = await api("POST", "/api/v1/incidents/" + encodeURIComponent(c) + "/" + path, body ? body() : {}); toast(r.message || t("done")); }
      catch (e) { toast(t("failed", { m: e.data?.message || e.data?.detail || e.message }), true); return; }
      openDetail(c, true);
    };
    const wrap = el("div", { class: "actions" });
    if (!d.open) {
      if (disp && d.state === "merged") wrap.append(el("button", { id: "act-unmerge", onclick: act("unmerge") }, t("unmerge")));
      return wrap;
    }
    wrap.append(el("button", { id: "act-take", class: "primary", onclick: act("take") }, t("take")),
      el("button", { id: "act-resolve", onclick: act("resolve") }, t("resolve")));
    const reason = el("input", { id: "act-reason", placeholder: t("reason"), "aria-label": t("reject_reason") });
    wrap.append(el("div", { class: "group" }, reason, el("button", { id: "act-reject", class: "danger", onclick: act("reject", () => ({ reason: reason.value })) }, t("reject"))));
    const tpl = el("select", { id: "act-template", "aria-label": t("template") }, el("option", { value: "" }, t("template")), (st.session.templates || []).map((n) => el("option", { value: "/" + n }, n)));
    const reply = el("input", { id: "act-reply-text", placeholder: t("reply_text"), "aria-label": t("reply_text") });
    tpl.addEventListener("change", () => { if (tpl.value) reply.value = tpl.value; });
    wrap.append(el("div", { class: "group" }, tpl, reply, el("button", { id: "act-reply", onclick: act("reply", () => ({ text: reply.value })) }, t("reply"))));
    if (disp) {
      const team = el("select", { id: "act-team", "aria-label": t("reassign_to") }, st.session.teams.filter((x) => x.id !== d.team).map((x) => el("option", { value: x.id }, x.name)));
      const why = el("input", { id: "act-reassign-reason", placeholder: t("reason"), "aria-label": t("reassign_reason") });
      wrap.append(el("div", { class: "group" }, team, why, el("button", { id: "act-reassign", onclick: act("reassign", () => ({ team: team.value, reason: why.value, from_team: d.team })) }, t("reassign"))));
      const into = el("input", { id: "act-merge-into", placeholder: t("merge_into"), "aria-label": t("merge_into") });
      wrap.append(el("div", { class: "group" }, into, el("button", { id: "act-merge", onclick: act("merge", () => ({ into: into.value.trim() })) }, t("merge"))));
    }
    return wrap;
  }

  // ---- numbers -------------------------------------------------------
  async function loadNumbers() {
    const by = $("#n-by").value, days = $("#n-days").value;
    const q = "/api/v1/stats?by=" + by + "&days=" + days;
    $("#n-csv").href = q + "&format=csv";
    $("#n-csv").setAttribute("download", "fieldgate-" + by + ".csv");
    let s;
    try { s = await api("GET", q); } catch (e) { toast(t("failed", { m: e.message }), true); return; }
    const head = ["col_key", "col_incidents", "col_ack", "col_ack_median", "col_ack_p90", "col_res_median", "col_res_p90"];
    $("#n-table thead").replaceChildren(el("tr", {}, head.map((h) => el("th", {}, h === "col_key" ? t("by_" + by) : t(h)))));
    $("#n-table tbody").replaceChildren(...s.rows.map((r) => el("tr", {},
      el("td", {}, by === "team" ? teamName(r.key) : r.key || t("none")), el("td", {}, r.incidents), el("td", {}, r.acknowledged),
      el("td", {}, fmtDur(r.ack_median_s)), el("td", {}, fmtDur(r.ack_p90_s)), el("td", {}, fmtDur(r.resolve_median_s)), el("td", {}, fmtDur(r.resolve_p90_s)))));
    $("#n-esc thead").replaceChildren(el("tr", {}, ["col_policy", "col_incidents", "col_escalated", "col_escalations"].map((h) => el("th", {}, t(h)))));
    $("#n-esc tbody").replaceChildren(...s.escalations.map((r) => el("tr", {},
      el("td", {}, r.policy || t("none")), el("td", {}, r.incidents), el("td", {}, r.escalated), el("td", {}, r.escalations))));
  }
  $("#n-by")?.addEventListener("change", loadNumbers);
  $("#n-days")?.addEventListener("change", loadNumbers);

  // The server not reachable while the page loads (a restart, a proxy's
  // 502): say so in the user's language and load the page again shortly,
  // instead of a browser's English error text and a dead page.
  start().catch((e) => {
    console.error(e);
    document.body.prepend(el("p", { class: "error", id: "start-error", role: "alert" }, t("err_unreachable")));
    setTimeout(() => location.reload(), 5000);
  });
})();
