// scaplock status page. Plain script, no build step, no external fetch.
//
// Every piece of data is put on the page with textContent or
// createElement/createElementNS, never by parsing HTML: a hold reason is
// text.
//
// Liveness: /api/v1/events tells what changed. "health" (a cluster's new
// report: a level or its status changed) and "samples" (every interval's
// values, and the reason when it reads otherwise) are applied in place, with
// no request; "event" carries the history event, which goes on top of the
// history list, and re-reads only the status; "leader" re-reads the status;
// "hello" (a new stream) re-reads what the page read before the stream's
// revision, which at load is usually nothing: /api/v1/history is read at
// load, when a stream opens after a gap and while polling, not after each
// event. A re-read starts at once; changes that arrive while one is in
// flight make one more. Anonymous reads use EventSource. When the service
// wants a token (401), EventSource cannot send it, so the same stream is read
// with fetch() and the Authorization header and parsed here. While no stream
// is open the page polls every 5 s and retries the stream every 30 s.
"use strict";

(function () {
  const TOKEN_KEY = "scaplock.token";
  const POLL_MS = 5000;
  const HISTORY_LIMIT = 50;
  const STREAM_RETRY_MS = 30000;
  const WINDOWS_MS = 60000; // windows open and close with time, not only with events
  const WEEK_MS = 7 * 86400000;
  // FOLD_AT healthy clusters or more fold into one line; fewer are shown.
  const FOLD_AT = 5;
  const WHY_MAX = 10; // holds named on a refused verdict

  const SIGNALS = [
    { key: "latency", label: "readyz latency" },
    { key: "cpu", label: "CPU" },
    { key: "retransmits", label: "TCP retransmits" },
    { key: "nic", label: "NIC egress" },
  ];

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    needToken: false,
    lostSince: null, // Date of the first failed request since the last success
    lostWhy: "", // the service's own reason when it answers but cannot decide (503)
    lastOK: null,
    streamOpen: false,
    streamKind: "", // "eventsource" | "fetch" | ""
    stream: null, // EventSource or AbortController
    streamTriedAt: 0,
    status: null,
    history: null,
    needHistory: true, // the next refresh also reads /api/v1/history
    samples: null, // cluster -> host -> signal -> [{at, value}], oldest first
    needSamples: true,
    // needHealth: the next refresh reads the clusters' reports too; after a
    // hold change the stream has kept them current, and at a hundred
    // clusters they are most of the status.
    needHealth: true,
    // helloRev is the revision a new stream began at (its hello), until the
    // page has checked that what it read reaches it: what it read at or
    // after that revision needs no re-read.
    helloRev: 0,
    samplesRev: 0,
    // streamed: per cluster, the revision of the last report or samples
    // the stream brought; a read answered before that revision must not
    // replace them.
    streamed: { health: {}, samples: {} },
    inFlight: false,
    again: false,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, opts, children) {
    const e = document.createElement(tag);
    if (opts) {
      if (opts.cls) e.className = opts.cls;
      if (opts.text !== undefined && opts.text !== null) e.textContent = String(opts.text);
      if (opts.attrs) for (const [k, v] of Object.entries(opts.attrs)) e.setAttribute(k, String(v));
    }
    if (children) for (const c of children) if (c) e.appendChild(c);
    return e;
  }

  // place makes nodes parent's children, in order, moving only what is out
  // of place: a box taken out and put back costs its style and layout
  // again, and at a hundred boxes that is most of an update.
  function place(parent, nodes) {
    const keep = new Set(nodes);
    let cur = parent.firstChild;
    for (const n of nodes) {
      while (cur && !keep.has(cur)) { const next = cur.nextSibling; cur.remove(); cur = next; }
      if (n === cur) cur = cur.nextSibling;
      else parent.insertBefore(n, cur);
    }
    while (cur) { const next = cur.nextSibling; cur.remove(); cur = next; }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  // ---- time -------------------------------------------------------------

  function pad(n) { return String(n).padStart(2, "0"); }

  function utc(d) {
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }

  function span(ms) {
    let s = Math.round(Math.abs(ms) / 1000);
    if (s < 60) return s + "s";
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    return m + "m " + s + "s";
  }

  function relative(d, now) {
    const ms = d.getTime() - now;
    return ms > 0 ? "in " + span(ms) : span(ms) + " ago";
  }

  function parseTime(s) {
    if (!s || s.startsWith("0001-")) return null;
    const d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  }

  // A <time> whose relative part is refreshed every second by tick().
  function timeEl(s, cls) {
    const d = parseTime(s);
    if (!d) return el("span", { text: "—", cls: "muted" });
    const t = el("time", { cls: "when " + (cls || ""), attrs: { datetime: d.toISOString(), title: utc(d) } });
    t.appendChild(el("span", { cls: "abs", text: utc(d) }));
    t.appendChild(el("span", { cls: "rel", text: relative(d, Date.now()) }));
    return t;
  }

  function tick() {
    const now = Date.now();
    for (const t of document.querySelectorAll("time.when")) {
      const d = new Date(t.getAttribute("datetime"));
      const rel = t.querySelector(".rel");
      if (rel) rel.textContent = relative(d, now);
    }
    renderConn();
  }

  // ---- fetching -----------------------------------------------------------

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (state.token) h.Authorization = "Bearer " + state.token;
    return h;
  }

  class HTTPError extends Error {
    constructor(status, body) {
      const e = body && body.error;
      super(e && e.message ? e.message : "HTTP " + status);
      this.status = status;
      this.code = e && e.code;
      this.field = e && e.field;
    }
  }

  async function getJSON(path) {
    const r = await fetch(path, { headers: headers(), cache: "no-store", credentials: "omit" });
    let body = null;
    try { body = await r.json(); } catch (_) { body = null; }
    if (!r.ok) throw new HTTPError(r.status, body);
    return body;
  }

  // scheduleRefresh re-reads the status now, or once more when the read in
  // flight ends: a burst of changes costs two reads, and the first change
  // shows without waiting for a timer. withHistory also reads the history.
  function scheduleRefresh(withHistory) {
    if (withHistory) state.needHistory = true;
    refresh();
  }

  async function refresh() {
    if (state.inFlight) { state.again = true; return; }
    state.inFlight = true;
    let read = false;
    try {
      const wantSamples = state.needSamples || !state.streamOpen;
      const wantHistory = state.needHistory || !state.streamOpen || !state.history;
      const wantHealth = state.needHealth || !state.streamOpen || !state.status;
      state.needSamples = false;
      state.needHistory = false;
      state.needHealth = false;
      const [status, history, samples] = await Promise.all([
        getJSON(wantHealth ? "/api/v1/status" : "/api/v1/status?health=false"),
        wantHistory ? getJSON("/api/v1/history?limit=" + HISTORY_LIMIT) : null,
        wantSamples ? getJSON("/api/v1/samples") : null]);
      const wasLost = !!state.lostSince;
      if (!wantHealth) status.health = state.status.health;
      else if (state.status) keepStreamed(status.health = status.health || {}, state.status.health || {}, state.streamed.health, status.revision);
      state.status = status;
      if (history) state.history = history;
      if (samples) {
        const fresh = samples.clusters || {};
        if (state.samples) keepStreamed(fresh, state.samples, state.streamed.samples, samples.revision);
        state.samples = fresh;
        state.samplesRev = samples.revision || 0;
      }
      if (wantHealth || samples) clusterBoxes.clear();
      state.lostSince = null;
      state.lostWhy = "";
      if (wasLost && !state.stream) openStream(); // back: do not wait for the stream retry
      state.lastOK = new Date();
      setNeedToken(false);
      render();
      read = true;
    } catch (err) {
      state.needSamples = true;
      state.needHistory = true;
      state.needHealth = true;
      if (err instanceof HTTPError && err.status === 401) {
        setNeedToken(true, state.token ? "The token was refused: " + err.message : "This service needs a token to read its status.");
      } else {
        if (!state.lostSince) state.lostSince = new Date();
        // 503: the service answers but cannot reach etcd, so it cannot decide.
        state.lostWhy = err instanceof HTTPError && err.status === 503 ? err.message : "";
      }
      renderConn();
    } finally {
      state.inFlight = false;
      if (state.again) { state.again = false; scheduleRefresh(); } else if (read) catchUp();
    }
  }

  // keepStreamed puts back into fresh (cluster -> value, read at revision
  // rev) what old holds for the clusters the stream brought to rev or past
  // it: a read answered before a change can arrive after the change's
  // message, and must not take the page back. Later reads start after what
  // the stream brought, so the marks are spent.
  function keepStreamed(fresh, old, streamed, rev) {
    for (const [c, r] of Object.entries(streamed)) {
      if (r >= rev) {
        if (c in old) fresh[c] = old[c]; else delete fresh[c];
      }
      delete streamed[c];
    }
  }

  // catchUp re-reads what the page last read before the stream's first
  // revision: the stream sends only the changes after it. It checks once
  // per stream: a re-read starts after the hello, so the status it gets
  // reaches the hello's revision (samples, which are not read through the
  // barrier, could lag on another replica, and are not chased).
  function catchUp() {
    const rev = state.helloRev;
    if (!state.streamOpen || !rev || state.inFlight) return;
    state.helloRev = 0;
    const behind = (r) => !(r >= rev);
    const health = behind(state.status && state.status.revision);
    const history = behind(state.history && state.history.revision);
    const samples = behind(state.samplesRev);
    if (!health && !history && !samples) return;
    if (health) state.needHealth = true;
    if (samples) state.needSamples = true;
    scheduleRefresh(history);
  }

  // ---- the event stream -------------------------------------------------

  function closeStream() {
    if (state.stream) {
      if (state.streamKind === "eventsource") state.stream.close();
      else state.stream.abort();
    }
    state.stream = null;
    state.streamKind = "";
    state.streamOpen = false;
  }

  function openStream() {
    closeStream();
    state.streamTriedAt = Date.now();
    if (state.token) openFetchStream(); else openEventSource();
    renderConn();
  }

  function openEventSource() {
    let es;
    try { es = new EventSource("/api/v1/events"); } catch (_) { return; }
    state.stream = es;
    state.streamKind = "eventsource";
    for (const type of ["hello", "event", "health", "samples", "leader", "message"]) {
      es.addEventListener(type, (m) => { state.streamOpen = true; onChange(type, m.data); });
    }
    es.onopen = () => { state.streamOpen = true; renderConn(); };
    es.onerror = () => {
      if (state.stream !== es) return;
      state.streamOpen = false;
      if (es.readyState === EventSource.CLOSED) {
        // Not a stream (401, error page): poll, and retry later.
        state.stream = null;
        state.streamKind = "";
      }
      refresh();
    };
  }

  async function openFetchStream() {
    const ctl = new AbortController();
    state.stream = ctl;
    state.streamKind = "fetch";
    try {
      const r = await fetch("/api/v1/events", {
        headers: headers({ Accept: "text/event-stream" }), cache: "no-store", credentials: "omit", signal: ctl.signal,
      });
      if (!r.ok || !r.body || !(r.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
        throw new Error("no stream: HTTP " + r.status);
      }
      state.streamOpen = true;
      renderConn();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "", type = "", data = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        const lines = buf.split(/\r\n|\r|\n/);
        buf = lines.pop();
        for (const l of lines) {
          if (l === "") { // a message ends at a blank line
            if (data.length) onChange(type || "message", data.join("\n"));
            type = ""; data = [];
          } else if (l.startsWith("event:")) type = l.slice(6).trim();
          else if (l.startsWith("data:")) data.push(l.slice(5).replace(/^ /, ""));
        }
      }
    } catch (_) {
      // aborted, refused or dropped: polling takes over below
    }
    if (state.stream === ctl) {
      state.stream = null;
      state.streamKind = "";
      state.streamOpen = false;
      refresh();
    }
  }

  // onChange applies one message of the event stream.
  function onChange(type, data) {
    let msg = null;
    try { msg = JSON.parse(data); } catch (_) { msg = null; }
    if (type === "health" && msg && msg.cluster && state.status) {
      state.status.health = state.status.health || {};
      if (msg.health) state.status.health[msg.cluster] = msg.health; else delete state.status.health[msg.cluster];
      state.streamed.health[msg.cluster] = msg.revision;
      changedCluster(msg.cluster);
      renderHealth(state.status.health);
      return;
    }
    if (type === "samples" && msg && msg.samples && state.samples) {
      addSamples(msg.samples);
      state.streamed.samples[msg.samples.cluster] = msg.revision;
      // Between reports, a reason that reads otherwise (a degraded
      // cluster's quotes its values) comes with the samples.
      const c = ((state.status || {}).health || {})[msg.samples.cluster];
      if (c && msg.samples.reason) {
        c.reason = msg.samples.reason;
        state.streamed.health[msg.samples.cluster] = msg.revision;
      }
      changedCluster(msg.samples.cluster);
      if (state.status) renderHealth(state.status.health || {});
      return;
    }
    if (type === "event" && msg && msg.event && msg.event.kind === "window") refreshWindows();
    if (type === "event" && msg && msg.event && msg.event.id && state.history) {
      addEvent(msg.event);
      renderHistory(state.history.events);
      scheduleRefresh(false);
      return;
    }
    if (type === "hello") {
      state.helloRev = (msg && msg.revision) || 0;
      catchUp(); // a read in flight catches up when it ends
      return;
    }
    state.needHealth = true; // leader, or a message that could not be applied: read everything
    scheduleRefresh(type === "event");
  }

  // addEvent puts an event from the stream on top of the history list.
  function addEvent(ev) {
    const events = (state.history.events || []).filter((e) => e.id !== ev.id);
    events.push(ev);
    events.sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    state.history = Object.assign({}, state.history, { events: events.slice(0, HISTORY_LIMIT) });
  }

  // addSamples appends one evaluation's values to the recent samples,
  // keeping as many per signal as the service does.
  const MAX_SAMPLES = 120;
  function addSamples(m) {
    const hosts = (state.samples[m.cluster] = state.samples[m.cluster] || {});
    for (const h of m.hosts || []) {
      const sigs = (hosts[h.host] = hosts[h.host] || {});
      for (const [sig, v] of Object.entries(h.values || {})) {
        const pts = (sigs[sig] = sigs[sig] || []);
        // The read at load may already hold the stream's first values.
        if (pts.length && Date.parse(pts[pts.length - 1].at) >= Date.parse(m.at)) continue;
        pts.push({ at: m.at, value: v });
        if (pts.length > MAX_SAMPLES) pts.splice(0, pts.length - MAX_SAMPLES);
      }
    }
  }

  // Every POLL_MS: poll while no stream is open; reopen a lost stream.
  function pollLoop() {
    if (state.needToken) return; // wait for a token rather than collect 401s
    if (state.streamOpen && showsQuiet()) {
      // The stream carries no values of quiet clusters: read them while shown.
      state.needSamples = true;
      state.needHealth = true;
      refresh();
    }
    if (!state.streamOpen) {
      refresh();
      if (!state.stream && !state.needToken && Date.now() - state.streamTriedAt >= STREAM_RETRY_MS) openStream();
    }
  }

  // ---- token --------------------------------------------------------------

  function setNeedToken(need, why) {
    const changed = state.needToken !== need;
    state.needToken = need;
    if (need) {
      $("auth").hidden = false;
      $("auth-why").textContent = why || "";
      closeStream();
    } else {
      $("auth").hidden = !state.token;
      $("auth-why").textContent = state.token ? "A token is in use for this tab." : "";
    }
    $("actions").hidden = !state.token || need;
    if (changed && !need && !state.stream) openStream();
  }

  function useToken(tok) {
    state.token = tok.trim();
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    state.needToken = false;
    closeStream();
    openStream();
    setNeedToken(false);
    refresh();
  }

  // ---- rendering ------------------------------------------------------------

  function renderConn() {
    const c = $("conn");
    let text, cls;
    if (state.lostSince && state.lostWhy) {
      text = "service cannot decide since " + utc(state.lostSince) + " (" + span(Date.now() - state.lostSince.getTime()) + "): " + state.lostWhy + "; showing the last known state";
      cls = "conn-lost";
    } else if (state.lostSince) {
      text = "connection lost since " + utc(state.lostSince) + " (" + span(Date.now() - state.lostSince.getTime()) + "); showing the last known state";
      cls = "conn-lost";
    } else if (state.needToken) {
      text = "token needed";
      cls = "conn-lost";
    } else if (state.streamOpen && state.status) {
      // "live" only once there is something on the page to be live about.
      text = "live";
      cls = "conn-live";
    } else if (state.lastOK) {
      text = "polling every " + POLL_MS / 1000 + " s (event stream unavailable)";
      cls = "conn-poll";
    } else {
      text = "connecting…";
      cls = "conn-wait";
    }
    if (c.textContent !== text) c.textContent = text;
    c.className = "conn " + cls;
    document.body.classList.toggle("stale", !!state.lostSince);
    $("mode").textContent = state.token ? "reading with a token (fetch stream)" : "reading anonymously (EventSource)";
  }

  function render() {
    const s = state.status;
    if (!s) return;
    $("gate-mode").textContent = s.gate && s.gate.mode ? s.gate.mode : "—";
    $("gate-mode").className = "mode-" + (s.gate && s.gate.mode ? s.gate.mode : "none");
    $("gate-leader").textContent = s.gate && s.gate.leader ? s.gate.leader : "none";
    renderStore(s.store);
    $("revision").textContent = String(s.revision);
    $("as-of").replaceChildren(timeEl(s.time));
    renderVerdicts(s);
    for (const p of document.querySelectorAll("p.empty[data-empty]")) {
      if (p.id !== "history-empty" || state.history) p.textContent = p.dataset.empty;
    }
    renderHoldTable("holds", s.holds || []);
    renderHoldTable("overrides", s.overrides || []);
    renderUnguarded(s.unguarded || []);
    renderHealth(s.health || {});
    renderHistory((state.history && state.history.events) || []);
    renderConn();
  }

  // The store's topology: a single-node store is said plainly, since
  // replicas each with their own would not see each other's locks.
  function renderStore(st) {
    const dd = $("store");
    let text = "—", cls = "", title = "";
    if (st && st.topology === "embedded-single") {
      text = "single-node store";
      cls = "store-single";
      title = "one etcd node inside this replica: no redundancy, and not shared with other replicas";
    } else if (st && st.topology === "embedded-cluster") {
      text = "embedded cluster, " + st.members + " members";
    } else if (st && st.topology === "external") {
      text = "external etcd, " + st.members + " members";
    }
    dd.textContent = text;
    dd.className = cls;
    dd.title = title;
  }

  // renderVerdicts touches the aria-live region only when what it says
  // changed, so a screen reader is not told the same verdict every update.
  let verdictKey = "";
  function renderVerdicts(s) {
    const list = $("verdict-list");
    const key = JSON.stringify((s.verdicts || []).map((v) => [v.scope, v.allowed, v.summary, v.advice,
      (v.reasons || []).map((r) => [r.hold_id, r.kind, r.holder, r.reason, r.refuses])]));
    const fkey = key + "\u0000" + filterText() + "\u0000" + folds.verdicts.open;
    if (fkey === verdictKey) return;
    verdictKey = fkey;
    const all = s.verdicts || [];
    const refused = all.filter((v) => !v.allowed).length;
    document.body.classList.toggle("refused", refused > 0);
    document.title = (refused ? "REFUSED" : "ALLOWED") + " — scaplock";
    // What refuses comes first, global first among equals; allowed
    // clusters fold into one line.
    const shown = all.filter((v) => v.scope === "global" || matches(v.scope)).sort((a, b) =>
      (a.allowed - b.allowed) || ((a.scope !== "global") - (b.scope !== "global")) || a.scope.localeCompare(b.scope));
    const calm = shown.filter((v) => v.allowed && v.scope !== "global");
    const items = shown.filter((v) => !calm.includes(v) || !foldable(calm.length)).map(verdictCard);
    if (foldable(calm.length)) {
      items.push(fold(folds.verdicts, calm.length + " clusters: deploys allowed", () => calm.map(verdictCard)));
    }
    if (!items.length) items.push(el("p", { cls: "verdict verdict-unknown", text: "no scopes known" }));
    list.replaceChildren(...items);
    renderFilterCount(all.filter((v) => v.scope !== "global").map((v) => v.scope));
  }

  function verdictCard(v) {
    const card = el("article", { cls: "verdict " + (v.allowed ? "verdict-allowed" : "verdict-refused"), attrs: { "data-scope": v.scope } });
    card.appendChild(el("h3", { cls: "verdict-scope", text: v.scope }));
    card.appendChild(el("p", { cls: "verdict-word" }, [
      el("span", { cls: "verdict-icon", text: v.allowed ? "✓" : "✕", attrs: { "aria-hidden": "true" } }),
      el("span", { cls: "verdict-text", text: v.allowed ? "DEPLOYS ALLOWED" : "DEPLOYS REFUSED" }),
    ]));
    if (v.allowed && v.advice) {
      card.appendChild(el("p", { cls: "verdict-advice" }, [
        el("span", { text: "deploy gently: " }), el("code", { text: v.advice.define }),
        el("span", { cls: "reason", text: " — " + v.advice.reason }),
      ]));
    }
    if (!v.allowed) {
      card.appendChild(el("p", { cls: "verdict-summary", text: v.summary }));
      // The service's message is the refusal's one text; the list below
      // is built from the reasons' fields.
      if (v.message) card.appendChild(el("pre", { cls: "verdict-message", text: v.message }));
      const why = el("ul", { cls: "verdict-why" });
      // A global verdict is refused by every hold: name a few, count the rest.
      const reasons = v.reasons || [];
      for (const r of reasons.slice(0, WHY_MAX)) {
        const li = el("li", { cls: r.refuses ? "" : "overridden" }, [
          el("span", { cls: "kind kind-" + r.kind, text: r.kind }),
          el("span", { text: " " + r.scope + " · " + r.holder + (r.refuses ? "" : " · overridden") + ": " }),
          el("span", { cls: "reason", text: r.reason }),
        ]);
        why.appendChild(li);
      }
      if (reasons.length > WHY_MAX) why.appendChild(el("li", { cls: "muted", text: "and " + (reasons.length - WHY_MAX) + " more (Active holds below)" }));
      card.appendChild(why);
    }
    return card;
  }

  // ---- many clusters: filter and folds ----------------------------------------

  function filterText() { return $("cluster-filter").value.trim().toLowerCase(); }
  function matches(name) { const f = filterText(); return !f || name.toLowerCase().includes(f); }
  // A filter shows every match: nothing folds then.
  function foldable(n) { return n >= FOLD_AT && !filterText(); }

  function renderFilterCount(names) {
    const f = filterText();
    $("filter-count").textContent = f ? names.filter(matches).length + " of " + names.length + " clusters match" : "";
  }

  // A fold is one line ("97 clusters healthy") that opens on a click. Its
  // element lives as long as the page, so it stays open across updates, and
  // what it hides is built only while it is open.
  const folds = { verdicts: newFold("verdicts"), health: newFold("health") };
  function newFold(name) {
    const d = el("details", { cls: "fold", attrs: { "data-fold": name } }, [el("summary", { cls: "fold-line" }), el("div", { cls: "fold-body" })]);
    d.addEventListener("toggle", () => {
      if (d.open) { state.needSamples = true; state.needHealth = true; scheduleRefresh(); }
      verdictKey = "";
      render();
    });
    return d;
  }
  function fold(d, line, build) {
    if (d.firstChild.textContent !== line) d.firstChild.textContent = line;
    place(d.lastChild, d.open ? build() : []);
    return d;
  }

  // showsQuiet reports whether some quiet cluster's values are on screen.
  function showsQuiet() {
    const h = (state.status && state.status.health) || {};
    const calm = Object.keys(h).filter((n) => quiet(h[n])).length;
    return calm > 0 && (folds.health.open || !!filterText() || !foldable(calm));
  }

  function expiresEl(h) {
    if (h.expires_at) return timeEl(h.expires_at);
    if (h.kind === "deploy" && h.ttl) return el("span", { text: "lease " + h.ttl + " after last keepalive" });
    if (h.kind === "auto") return el("span", { text: h.hint || "when the cluster recovers" });
    return el("span", { text: "until released" });
  }

  function reasonCell(h) {
    const td = el("td", { cls: "reason-cell" }, [el("span", { cls: "reason", text: h.reason })]);
    if (h.details && h.details.length) {
      const ul = el("ul", { cls: "details" });
      for (const d of h.details) ul.appendChild(el("li", { text: d }));
      td.appendChild(ul);
    }
    if (h.hint && h.expires_at) td.appendChild(el("p", { cls: "hint", text: h.hint }));
    return td;
  }

  function releaseButton(h, what) {
    if (!state.token || (h.kind !== "manual" && h.kind !== "override")) return null;
    const b = el("button", { cls: "release", text: h.kind === "override" ? "Cancel" : "Unlock", attrs: { type: "button", "data-id": h.id } });
    b.addEventListener("click", () => releaseHold(h, what));
    return b;
  }

  // labelCells copies the column headings onto the cells, for the stacked
  // phone layout, which shows them with CSS attr().
  function labelCells(table) {
    const heads = [...table.tHead.rows[0].cells].map((c) => c.textContent);
    for (const row of table.tBodies[0].rows) {
      [...row.cells].forEach((c, i) => c.setAttribute("data-label", heads[i] || ""));
    }
  }

  // renderHoldTable fills the holds or the overrides table ("what"); the
  // holds table has a kind column.
  function renderHoldTable(what, holds) {
    const rows = holds.map((h) => el("tr", { cls: what === "holds" ? "hold hold-" + h.kind : "", attrs: { "data-id": h.id } }, [
      what === "holds" ? el("td", {}, [el("span", { cls: "kind kind-" + h.kind, text: h.kind })]) : null,
      el("th", { text: h.scope, attrs: { scope: "row" } }),
      el("td", { text: h.owner }),
      reasonCell(h),
      el("td", {}, [timeEl(h.created_at)]),
      el("td", {}, [expiresEl(h)]),
      el("td", {}, [el("code", { text: h.id.slice(0, 4), attrs: { title: h.id } }), releaseButton(h, what)]),
    ]));
    const table = $(what + "-table");
    table.tBodies[0].replaceChildren(...rows);
    labelCells(table);
    table.hidden = rows.length === 0;
    $(what + "-empty").hidden = rows.length > 0;
    $(what + "-count").textContent = "(" + rows.length + ")";
  }

  // Hosts whose scap bridge a person released: they deploy unguarded.
  function renderUnguarded(bridges) {
    const by = (b) => (b.releaser || "someone") +
      (b.user ? " (user " + b.user + ", uid " + b.uid + ")" : b.uid != null ? " (uid " + b.uid + ")" : "");
    const rows = bridges.map((b) => el("tr", { attrs: { "data-host": b.host } }, [
      el("th", { text: b.host, attrs: { scope: "row" } }),
      el("td", { text: (b.scopes || []).join(", ") }),
      el("td", { text: by(b) }),
      el("td", { text: b.reason || "" }),
      el("td", {}, [timeEl(b.since)]),
    ]));
    $("unguarded-table").tBodies[0].replaceChildren(...rows);
    labelCells($("unguarded-table"));
    $("unguarded").hidden = rows.length === 0;
    $("unguarded-count").textContent = "(" + rows.length + ")";
  }

  // ---- health -------------------------------------------------------------

  function fmt(sig, v) {
    if (typeof v !== "number" || !isFinite(v)) return "—";
    switch (sig) {
      case "latency": return v < 1 ? Math.round(v * 1000) + " ms" : v.toFixed(v < 10 ? 1 : 0) + " s";
      case "cpu":
      case "nic": return Math.round(v * 100) + " %";
      case "retransmits": return Math.round(v) + "/s";
    }
    return String(v);
  }

  const LEVEL_WORD = { ok: "OK", warn: "WARN", crit: "CRIT", error: "ERROR" };

  function levelEl(level) {
    const l = LEVEL_WORD[level] ? level : "unknown";
    return el("span", { cls: "level level-" + l, text: LEVEL_WORD[level] || "?" });
  }

  // sparkline draws recent samples with the warn and crit limits, so a short
  // burst shows even after the value fell again.
  function sparkline(sig, s) {
    const W = 120, H = 32, P = 2;
    const pts = (s.recent || []).map((p) => ({ t: new Date(p.at).getTime(), v: p.value })).filter((p) => isFinite(p.t) && isFinite(p.v));
    const peak = pts.reduce((m, p) => Math.max(m, p.v), -Infinity);
    const top = Math.max(peak, s.crit || 0, s.warn || 0) * 1.1 || 1;
    const root = svg("svg", {
      class: "spark", viewBox: "0 0 " + W + " " + H, width: W, height: H, preserveAspectRatio: "none", role: "img",
      "aria-label": pts.length ? sig + ": " + pts.length + " recent samples, peak " + fmt(sig, peak) : sig + ": no recent samples",
    });
    const title = svg("title");
    title.textContent = root.getAttribute("aria-label");
    root.appendChild(title);
    const y = (v) => (H - P - (Math.max(0, v) / top) * (H - 2 * P)).toFixed(1);
    for (const [lvl, v] of [["warn", s.warn], ["crit", s.crit]]) {
      if (typeof v === "number" && v > 0) root.appendChild(svg("line", { class: "limit limit-" + lvl, x1: 0, x2: W, y1: y(v), y2: y(v) }));
    }
    if (pts.length) {
      const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
      const x = (t) => (t1 > t0 ? P + ((t - t0) / (t1 - t0)) * (W - 2 * P) : W - P).toFixed(1);
      root.appendChild(svg("polyline", { class: "line", points: pts.map((p) => x(p.t) + "," + y(p.v)).join(" ") }));
      for (const p of pts) {
        if (s.crit > 0 && p.v >= s.crit) root.appendChild(svg("circle", { class: "over", cx: x(p.t), cy: y(p.v), r: 1.6 }));
      }
      const last = pts[pts.length - 1];
      root.appendChild(svg("circle", { class: "last", cx: x(last.t), cy: y(last.v), r: 2 }));
    }
    return root;
  }

  function signalCell(sig, label, s) {
    if (!s) return el("td", { cls: "sig sig-none" }, [el("div", { cls: "sig-name", text: label }), el("span", { text: "—" })]);
    const td = el("td", { cls: "sig sig-" + (LEVEL_WORD[s.level] ? s.level : "unknown") });
    td.appendChild(el("div", { cls: "sig-name", text: label }));
    const head = el("div", { cls: "sig-head" }, [el("span", { cls: "sig-value", text: s.level === "error" ? "no data" : fmt(sig, s.value) }), levelEl(s.level)]);
    td.appendChild(head);
    td.appendChild(sparkline(sig, s));
    const peak = (s.recent || []).reduce((m, p) => Math.max(m, p.value), -Infinity);
    const lim = "warn " + fmt(sig, s.warn) + " · crit " + fmt(sig, s.crit) + (isFinite(peak) ? " · peak " + fmt(sig, peak) : "");
    td.appendChild(el("div", { cls: "sig-limits", text: lim }));
    if (s.error) td.appendChild(el("div", { cls: "sig-error", text: s.error }));
    if (s.level && s.level !== "ok" && parseTime(s.since)) td.appendChild(el("div", { cls: "sig-since" }, [document.createTextNode(LEVEL_WORD[s.level] + " since "), timeEl(s.since)]));
    return td;
  }

  // withSamples is a report's signal with the recent samples kept here;
  // the newest sample's value is shown when it is newer than the report.
  function withSamples(cluster, host, sig, s) {
    if (!s) return s;
    const pts = (((state.samples || {})[cluster] || {})[host] || {})[sig] || [];
    const out = Object.assign({}, s, { recent: pts });
    const last = pts[pts.length - 1];
    if (last && s.level !== "error" && parseTime(last.at) && (!parseTime(s.at) || parseTime(last.at) > parseTime(s.at))) out.value = last.value;
    return out;
  }

  // quiet mirrors the service's rule for streaming samples: ok, and every
  // signal at ok.
  function quiet(c) {
    if (!c || c.status !== "ok") return false;
    return (c.hosts || []).every((h) => Object.values(h.signals || {}).every((s) => s.level === "ok"));
  }

  const STATUS_RANK = { degraded: 0, unknown: 1, ok: 2 };
  const QUIET_RANK = 3;
  function healthRank(c) { return quiet(c) ? QUIET_RANK : (STATUS_RANK[c && c.status] ?? 1); }

  // A cluster's box is rebuilt only when its report or samples changed:
  // one cluster's update costs one box, however many clusters there are.
  const clusterBoxes = new Map(); // cluster -> article
  function changedCluster(name) { clusterBoxes.delete(name); }

  // renderHealth runs on every report: each cluster's rank is worked out
  // once, not in every comparison of the sort.
  function renderHealth(health) {
    const rank = new Map(Object.keys(health).filter(matches).map((n) => [n, healthRank(health[n])]));
    const names = [...rank.keys()].sort((a, b) => (rank.get(a) - rank.get(b)) || a.localeCompare(b));
    const calm = names.filter((n) => rank.get(n) === QUIET_RANK);
    const folded = foldable(calm.length);
    const box = (n) => {
      let b = clusterBoxes.get(n);
      if (!b) { b = clusterBox(n, health[n] || {}); clusterBoxes.set(n, b); }
      return b;
    };
    const blocks = (folded ? names.filter((n) => rank.get(n) !== QUIET_RANK) : names).map(box);
    if (folded) blocks.push(fold(folds.health, calm.length + " clusters healthy", () => calm.map(box)));
    place($("health-list"), blocks);
    $("health-empty").hidden = Object.keys(health).length > 0;
  }

  function clusterBox(name, c) {
    const status = ["ok", "degraded", "unknown"].includes(c.status) ? c.status : "unknown";
    const box = el("article", { cls: "cluster cluster-" + status, attrs: { "data-cluster": name } });
    const h3 = el("h3", {}, [
      document.createTextNode(name + " "),
      el("span", { cls: "status status-" + status, text: status.toUpperCase() }),
    ]);
    box.appendChild(h3);
    const meta = el("p", { cls: "cluster-meta" });
    if (parseTime(c.since)) meta.append("since ", timeEl(c.since));
    if (status === "degraded" && parseTime(c.tripped_at)) meta.append(" · tripped ", timeEl(c.tripped_at));
    if (parseTime(c.updated_at)) meta.append(" · evaluated ", timeEl(c.updated_at));
    box.appendChild(meta);
    if (c.reason) box.appendChild(el("p", { cls: "cluster-reason", text: c.reason }));
    const table = el("table", { cls: "data hosts" });
    const hr = el("tr", {}, [el("th", { text: "apiserver", attrs: { scope: "col" } })]);
    for (const sg of SIGNALS) hr.appendChild(el("th", { text: sg.label, attrs: { scope: "col" } }));
    table.appendChild(el("thead", {}, [hr]));
    const tb = el("tbody");
    for (const host of c.hosts || []) {
      const tr = el("tr", { attrs: { "data-host": host.host } }, [el("th", { text: host.host, attrs: { scope: "row" } })]);
      for (const sg of SIGNALS) tr.appendChild(signalCell(sg.key, sg.label, withSamples(name, host.host, sg.key, (host.signals || {})[sg.key])));
      tb.appendChild(tr);
    }
    table.appendChild(tb);
    box.appendChild(el("div", { cls: "scroll" }, [table]));
    return box;
  }

  // ---- history -----------------------------------------------------------

  function renderHistory(events) {
    const rows = events.slice(0, 50).map((e) => el("tr", { cls: "ev ev-" + e.action }, [
      el("td", {}, [timeEl(e.time)]),
      el("th", { text: String(e.action).replace(/_/g, " "), attrs: { scope: "row" } }),
      el("td", {}, [el("span", { cls: "kind kind-" + e.kind, text: e.kind })]),
      el("td", { text: e.scope }),
      el("td", { text: e.actor }),
      el("td", { cls: "reason-cell" }, [el("span", { cls: "reason", text: e.reason })]),
    ]));
    $("history-table").tBodies[0].replaceChildren(...rows);
    labelCells($("history-table"));
    $("history-table").hidden = rows.length === 0;
    $("history-empty").hidden = rows.length > 0;
  }

  // ---- deploy impact trend ---------------------------------------------------

  const REPORT_MS = 5 * 60 * 1000;

  // DEPLOY_OBJECTIVE is contrib/pyrra/scaplock-deploy-success.yaml's target.
  const DEPLOY_OBJECTIVE = 0.95;

  async function refreshReport() {
    try {
      const month = await getJSON("/api/v1/report?since=28d");
      renderReport(month);
      renderDeploys((await getJSON("/api/v1/report?since=1d&period=1d")).deploys, month.deploys);
    } catch (_) {
      // the status refresh reports connection and token trouble
    }
  }

  // renderDeploys says the last 24 h's deploys and failures, and how much
  // of the 28-day deploy success budget is left.
  function renderDeploys(day, month) {
    const d = (day || [])[0] || { deploys: 0, failed: 0 };
    let failed = 0, counted = 0;
    for (const p of month || []) {
      failed += p.failed;
      counted += p.deploys - p.signalled;
    }
    let text = "Last 24 h: " + d.deploys + " deploys, " + d.failed + " failed · deploy success budget left (28 d, objective 95 %): ";
    text += counted ? Math.round(100 * (1 - failed / counted / (1 - DEPLOY_OBJECTIVE))) + " %" : "no deploys recorded";
    $("deploys-24h").textContent = text;
  }

  function renderReport(r) {
    const rows = [];
    const flags = [];
    for (const c of (r && r.clusters) || []) {
      for (const p of c.periods || []) {
        const q = (x, f) => (p.deploys ? f(x.p50) + " / " + f(x.p90) : "—");
        rows.push(el("tr", {}, [
          el("th", { text: c.cluster, attrs: { scope: "row" } }),
          el("td", { text: utc(parseTime(p.from)).slice(0, 10) }),
          el("td", { text: String(p.deploys) }),
          el("td", { text: q(p.peak_cpu, (v) => fmt("cpu", v)) }),
          el("td", { text: q(p.peak_latency, (v) => fmt("latency", v)) }),
          el("td", { text: q(p.seconds_above_warn, (v) => Math.round(v) + " s") }),
        ]));
      }
      if (c.flag) flags.push(el("li", { cls: "trend-flag", text: c.flag }));
    }
    $("trend-table").tBodies[0].replaceChildren(...rows);
    labelCells($("trend-table"));
    $("trend-table").hidden = rows.length === 0;
    $("trend-empty").hidden = rows.length > 0;
    $("trend-flags").replaceChildren(...flags);
  }

  // ---- deployment windows --------------------------------------------------

  async function refreshWindows() {
    try {
      renderWindows(await getJSON("/api/v1/windows"));
    } catch (_) {
      // the status refresh reports connection and token trouble
    }
  }

  function windowName(w) { return w.kind + " window '" + w.reason + "'"; }

  // renderWindows shows each scope's current and next window, and a strip
  // of the coming week with every window's occurrences on it.
  function renderWindows(r) {
    const windows = (r && r.windows) || [];
    const now = r && r.time ? parseTime(r.time).getTime() : Date.now();
    const scopes = [...new Set(windows.map((w) => w.scope))].sort((a, b) => (a === "global" ? -1 : b === "global" ? 1 : a < b ? -1 : 1));
    const rows = scopes.map((scope) => {
      const mine = windows.filter((w) => w.scope === scope);
      const active = mine.filter((w) => w.active);
      const next = mine.filter((w) => w.next_start).sort((a, b) => parseTime(a.next_start) - parseTime(b.next_start))[0];
      const nowCell = el("td", {}, active.length ? active.flatMap((w) => [
        el("span", { cls: "win-" + w.kind, text: windowName(w) + " until " }), timeEl(w.active_end), el("br")]) : [el("span", { cls: "muted", text: "—" })]);
      const nextCell = el("td", {}, next ? [el("span", { cls: "win-" + next.kind, text: windowName(next) + " " }), timeEl(next.next_start)] : [el("span", { cls: "muted", text: "none" })]);
      return el("tr", { attrs: { "data-scope": scope } }, [el("th", { text: scope, attrs: { scope: "row" } }), nowCell, nextCell]);
    });
    $("windows-table").tBodies[0].replaceChildren(...rows);
    labelCells($("windows-table"));
    $("windows-table").hidden = rows.length === 0;
    $("windows-empty").hidden = rows.length > 0;
    if (rows.length === 0) $("windows-empty").textContent = $("windows-empty").dataset.empty;

    const days = [];
    for (let i = 0; i < 7; i++) {
      const d = new Date(now + i * 86400000);
      days.push(el("span", { cls: "week-day", text: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()] + " " + pad(d.getUTCDate()) }));
    }
    const strips = windows.map((w) => {
      const bar = el("div", { cls: "week-bar" }, (w.week || []).map((s) => {
        const from = Math.max(parseTime(s.start).getTime(), now), to = Math.min(parseTime(s.end).getTime(), now + WEEK_MS);
        const occ = el("span", { cls: "week-occ win-" + w.kind, attrs: { title: utc(parseTime(s.start)) + " – " + utc(parseTime(s.end)) } });
        occ.style.left = ((from - now) / WEEK_MS * 100) + "%";
        occ.style.width = Math.max((to - from) / WEEK_MS * 100, 0.3) + "%";
        return occ;
      }));
      return el("div", { cls: "week-row", attrs: { "data-id": w.id } }, [el("span", { cls: "week-label", text: w.scope + ": " + windowName(w) }), bar]);
    });
    $("windows-week").replaceChildren(...(strips.length ? [el("div", { cls: "week-row week-head" }, [el("span", { cls: "week-label", text: "from now (UTC days)" }), el("div", { cls: "week-days" }, days)])] : []), ...strips);
  }

  // ---- SRE actions ---------------------------------------------------------

  async function send(method, path, body) {
    const r = await fetch(path, {
      method, headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body), cache: "no-store", credentials: "omit",
    });
    let out = null;
    try { out = await r.json(); } catch (_) { out = null; }
    if (!r.ok) throw new HTTPError(r.status, out);
    return out;
  }

  function showResult(text, ok) {
    const p = $("action-result");
    p.textContent = text;
    p.className = "action-result " + (ok ? "ok" : "bad");
  }

  async function submitHold(form, path, what) {
    const body = { scope: form.scope.value.trim(), reason: form.reason.value };
    if (form.duration.value.trim()) body.duration = form.duration.value.trim();
    try {
      const h = await send("POST", path, body);
      showResult(what + " " + h.id.slice(0, 4) + " on " + h.scope + " created.", true);
      form.reason.value = "";
      scheduleRefresh();
    } catch (err) {
      showResult(what + " refused: " + err.message + (err.field ? " (field " + err.field + ")" : ""), false);
    }
  }

  // Unlock and cancel fill the release form in the actions section, which
  // re-renders never touch, so a half-typed reason survives live updates.
  function releaseHold(h, what) {
    const f = $("release-form");
    f.hidden = false;
    f.dataset.what = what;
    f.hold.value = h.id;
    $("release-reason").focus();
    f.scrollIntoView({ block: "nearest" });
  }

  async function submitRelease(form) {
    const id = form.hold.value;
    try {
      await send("DELETE", "/api/v1/" + form.dataset.what + "/" + encodeURIComponent(id), { reason: form.reason.value });
      showResult(id.slice(0, 4) + " released.", true);
      form.reason.value = "";
      form.hidden = true;
      scheduleRefresh();
    } catch (err) {
      showResult("release refused: " + err.message + (err.field ? " (field " + err.field + ")" : ""), false);
    }
  }

  // ---- start ---------------------------------------------------------------

  function start() {
    $("auth-form").addEventListener("submit", (ev) => { ev.preventDefault(); useToken($("auth-token").value); $("auth-token").value = ""; });
    $("auth-forget").addEventListener("click", () => useToken(""));
    $("lock-form").addEventListener("submit", (ev) => { ev.preventDefault(); submitHold(ev.target, "/api/v1/holds", "hold"); });
    $("override-form").addEventListener("submit", (ev) => { ev.preventDefault(); submitHold(ev.target, "/api/v1/overrides", "override"); });
    $("release-form").addEventListener("submit", (ev) => { ev.preventDefault(); submitRelease(ev.target); });
    $("release-cancel").addEventListener("click", () => { $("release-form").hidden = true; });
    $("cluster-filter").addEventListener("input", () => { clusterBoxes.clear(); render(); if (filterText()) { state.needSamples = true; state.needHealth = true; scheduleRefresh(); } });
    setNeedToken(false);
    openStream();
    refresh();
    refreshReport();
    setInterval(refreshReport, REPORT_MS);
    refreshWindows();
    setInterval(refreshWindows, WINDOWS_MS);
    setInterval(pollLoop, POLL_MS);
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
