// hookctl inspector. Every byte of a payload is untrusted: it only ever reaches the page as
// text (textContent, createTextNode, input values), never parsed as markup; no code from
// strings and no inline handlers, which the server's CSP forbids anyway.
"use strict";

(() => {
  const ROW = 26;            // px, matches --row in app.css
  const MAX_PX = 8000000;    // tallest scroll area before positions are scaled
  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, session: null, q: "", total: 0, matched: 0,
    rows: new Map(),          // position (0 = newest) -> row
    selPos: 0, selKey: null, pinned: false, checked: new Set(),
    detail: null, fetching: 0, wanted: null, version: -1,
  };

  // ---- DOM helpers: text only ----
  // Bidi controls would reorder what is shown (an "exe.png" that is a .exe): shown as escapes.
  const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const vis = (s) => String(s).replace(BIDI, (c) => "\\u{" + c.charCodeAt(0).toString(16) + "}");
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = vis(v);
        else if (k === "title") node.setAttribute(k, vis(v));
        else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(vis(c)) : c);
    }
    return node;
  }
  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); };
  function showError(msg) {
    const e = $("error");
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  // ---- API ----
  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    if (state.token) headers["X-Hookctl-Token"] = state.token;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    const response = await fetch(path, { method: options.method || "GET", headers, body: options.body, cache: "no-store", credentials: "same-origin" });
    if (!response.ok) {
      let why = response.status + " " + response.statusText;
      try { const j = await response.json(); if (j && j.error) why = j.error; } catch (_) { /* not JSON */ }
      const err = new Error(why);
      err.status = response.status;
      throw err;
    }
    return response;
  }
  const apiJson = async (path, options) => (await api(path, options)).json();

  // ---- URL state: the search lives in the hash (#q=...) ----
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get("token");
    if (token) {
      sessionStorage.setItem("hookctl-token", token);
      params.delete("token");
      history.replaceState(null, "", location.pathname + location.search + (params.toString() ? "#" + params.toString() : ""));
    }
    const q = params.get("q") || new URLSearchParams(location.search).get("q") || "";
    return q;
  }
  function writeHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (state.q) params.set("q", state.q); else params.delete("q");
    const hash = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (hash ? "#" + hash : ""));
  }

  // ---- the list ----
  const list = $("list"), spacer = $("spacer"), rowsBox = $("rows");
  const scaled = () => state.matched * ROW > MAX_PX;
  function visibleCount() { return Math.ceil(list.clientHeight / ROW) + 1; }
  function firstVisible() {
    if (!scaled()) return Math.floor(list.scrollTop / ROW);
    const range = Math.max(1, spacer.offsetHeight - list.clientHeight);
    return Math.floor((list.scrollTop / range) * Math.max(0, state.matched - visibleCount()));
  }
  function scrollToPos(pos) {
    const first = firstVisible(), n = visibleCount() - 1;
    if (pos >= first && pos < first + n) return;
    const target = pos < first ? pos : pos - n + 1;
    if (!scaled()) list.scrollTop = target * ROW;
    else {
      const range = Math.max(1, spacer.offsetHeight - list.clientHeight);
      list.scrollTop = (target / Math.max(1, state.matched - visibleCount())) * range;
    }
  }

  async function loadWindow() {
    const first = firstVisible();
    const offset = Math.max(0, first - 10);
    const limit = visibleCount() + 20;
    const ticket = ++state.fetching;
    let data;
    try {
      data = await apiJson("api/events?" + new URLSearchParams({ q: state.q, offset, limit }));
    } catch (e) {
      if (ticket === state.fetching) showError(e.status === 400 ? "Search: " + e.message : e.message);
      return;
    }
    if (ticket !== state.fetching) return;
    showError("");
    state.total = data.total;
    state.matched = data.matched;
    state.rows = new Map();
    list.dataset.q = state.q;
    data.rows.forEach((row, i) => state.rows.set(offset + i, row));
    const dropped = data.memory && data.memory.dropped;
    if (state.session && !state.session.file) {
      const n = (data.memory && data.memory.limit) || state.session.memory_limit;
      $("notice").hidden = false;
      $("notice").textContent = "Showing the latest " + n.toLocaleString() + " events kept in memory (listen has no --capture)" +
        (dropped ? "; " + dropped.toLocaleString() + " older ones were let go." : ".") + " Use --capture FILE to keep every event.";
    }
    render();
    followSelection();
  }

  function render() {
    spacer.style.height = Math.min(state.matched * ROW, MAX_PX) + "px";
    const first = firstVisible();
    const top = scaled() ? list.scrollTop : first * ROW;
    rowsBox.style.top = top + "px";
    clear(rowsBox);
    const n = visibleCount();
    for (let pos = first; pos < Math.min(first + n, state.matched); pos++) {
      const row = state.rows.get(pos);
      rowsBox.append(row ? rowNode(row, pos) : el("div", { class: "row dim" }, el("span"), el("span", { text: "…" })));
    }
    $("empty").hidden = state.total > 0;
    $("count").textContent = state.q
      ? state.matched.toLocaleString() + " of " + state.total.toLocaleString()
      : state.total.toLocaleString() + " event" + (state.total === 1 ? "" : "s");
  }

  function rowNode(row, pos) {
    const selected = row.key === state.selKey;
    const box = el("input", { type: "checkbox", "aria-label": "check", title: "check (x)" });
    box.checked = state.checked.has(row.key);
    box.addEventListener("click", (ev) => { ev.stopPropagation(); toggleCheck(row.key); });
    if (row.invalid) {
      return el("div", { class: "row invalid" + (selected ? " sel" : ""), "data-key": row.key }, el("span"), el("span", { text: row.invalid }));
    }
    const status = row.status === null || row.status === undefined ? "—" : String(row.status);
    const verified = row.verified === true ? "✓" : row.verified === false ? "✗" : "";
    let forward = "";
    if (row.forward) forward = row.forward.status ? String(row.forward.status) : "failed";
    const node = el("div", { class: "row" + (selected ? " sel" : ""), role: "option", "aria-selected": selected ? "true" : "false", "data-key": row.key },
      box,
      el("span", { class: "dim", text: clock(row.time), title: row.time }),
      el("span", { class: "m-" + row.method.replace(/[^A-Z]/g, ""), text: row.method }),
      el("span", { class: row.edited_from ? "edited" : "", text: row.path, title: row.path }),
      el("span", { class: "c-type", text: row.type || "—", title: row.type || "" }),
      el("span", { class: "c-id dim", text: row.id, title: row.id }),
      el("span", { class: "num dim", text: size(row.size) }),
      el("span", { class: "s" + String(row.status || "").charAt(0), text: status }),
      el("span", { class: row.verified === true ? "ok" : row.verified === false ? "bad" : "", text: verified, title: row.verified === undefined ? "" : "signature" }),
      el("span", { class: "c-fwd " + (row.forward ? (row.forward.error ? "bad" : "ok") : ""), text: forward }));
    node.addEventListener("click", () => select(pos, row.key, true));
    return node;
  }

  const clock = (t) => (t || "").slice(11, 23);
  function size(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }

  function toggleCheck(key) {
    if (state.checked.has(key)) state.checked.delete(key); else state.checked.add(key);
    render();
  }

  // The newest row is selected until the user picks one. While events stream in, its
  // detail is opened at most every 2 s: the page must not compete with the receiver.
  let followTimer = 0, followedAt = 0;
  function followSelection() {
    if (!state.pinned) {
      clearTimeout(followTimer);
      const wait = Math.max(0, followedAt + 2000 - Date.now());
      followTimer = setTimeout(() => {
        const newest = state.rows.get(0);
        if (state.pinned || !newest || newest.key === state.selKey) return;
        followedAt = Date.now();
        select(0, newest.key, false);
      }, state.selKey === null ? 0 : wait);
      return;
    }
    for (const [pos, row] of state.rows) {
      if (row.key === state.selKey) { state.selPos = pos; return; }
    }
  }

  function select(pos, key, byUser) {
    if (byUser) state.pinned = true;
    state.selPos = pos;
    if (key === state.selKey && state.detail) { render(); return; }
    state.selKey = key;
    render();
    openDetail(key);
  }

  async function move(delta) {
    const pos = Math.max(0, Math.min(state.matched - 1, state.selPos + delta));
    state.pinned = true;
    scrollToPos(pos);
    let row = state.rows.get(pos);
    if (!row) { await loadWindow(); row = state.rows.get(pos); }
    if (row) select(pos, row.key, true);
  }

  // ---- the detail ----
  const detail = $("detail");
  async function openDetail(key) {
    state.wanted = key;
    let event;
    try {
      event = await apiJson("api/events/" + encodeURIComponent(key));
    } catch (e) {
      if (state.wanted !== key) return;
      clear(detail);
      detail.append(el("p", { class: "bad", text: e.message }));
      state.detail = null;
      return;
    }
    if (state.wanted !== key) return;
    state.detail = event;
    renderDetail(event);
  }

  function bodyBytes(e) {
    if (e.body_base64 !== undefined) return Uint8Array.from(atob(e.body_base64), (c) => c.charCodeAt(0));
    return new TextEncoder().encode(e.body || "");
  }

  function renderDetail(e) {
    clear(detail);
    detail.append(el("h2", null, el("span", { class: "m-" + e.method.replace(/[^A-Z]/g, ""), text: e.method + " " }), e.path_and_query || e.path));
    const facts = el("dl", { class: "facts" });
    const fact = (k, v, cls) => { facts.append(el("dt", { text: k }), el("dd", { class: cls || "", text: v })); };
    fact("id", e.id);
    fact("type", e.type === null || e.type === undefined ? "—" : e.type);
    fact("received", e.received_at);
    fact("size", size(e.size) + (e.body_base64 !== undefined ? " (binary)" : ""));
    fact("answered", e.status === undefined ? "—" : String(e.status));
    if (e.edited_from) fact("edited from", e.edited_from);
    detail.append(facts);

    const actions = el("div", { class: "actions" },
      el("button", { id: "btn-replay", type: "button", class: "primary", text: "Replay (r)", onclick: () => replay([e.key]) }),
      el("button", { id: "btn-edit", type: "button", text: "Edit and resend (e)", onclick: () => editForm(e) }),
      el("button", { id: "btn-curl", type: "button", text: "Copy as curl (c)", onclick: () => copyCurl(e) }),
      el("button", { id: "btn-har-one", type: "button", text: "HAR", onclick: () => exportAs("har", [e.key]) }));
    detail.append(actions, el("div", { id: "action-out" }));

    if (e.verified) {
      detail.append(el("h3", { text: "Signature" }),
        el("p", { id: "verdict", class: e.verified.ok ? "ok" : "bad", text: (e.verified.ok ? "✓ valid" : "✗ invalid") + " (" + e.verified.scheme + "): " + e.verified.reason }));
    }
    if (e.forward) {
      const f = e.forward;
      const fwd = el("dl", { class: "facts", id: "forward" });
      const add = (k, v, cls) => fwd.append(el("dt", { text: k }), el("dd", { class: cls || "", text: v }));
      add("to", f.url);
      add("status", f.status === undefined ? "no answer" : String(f.status), f.error ? "bad" : "ok");
      add("latency", f.latency_ms + " ms");
      add("attempts", String(f.attempts));
      if (f.error) add("error", f.error, "bad");
      detail.append(el("h3", { text: e.edited_from ? "Sent" : "Forward" }), fwd);
      if (e.answer) detail.append(el("p", { class: "dim", text: "The app's answer:" }), bodyView(e.answer.text, e.answer.base64, null));
    }

    detail.append(el("h3", { text: "Headers (" + e.headers.length + ")" }));
    const table = el("table", { class: "headers", id: "headers" });
    for (const h of e.headers) {
      table.append(el("tr", null, el("td", { text: h[0] }), el("td", { text: h[1] }, h.length > 2 ? el("span", { class: "warn", text: "  (not UTF-8: bytes kept)" }) : null)));
    }
    detail.append(table);

    const tabs = el("div", { class: "tabs", role: "tablist" });
    const pane = el("div", { id: "body-pane" });
    const views = [["Body", () => bodyView(e.body, e.body_base64, contentType(e))], ["Raw", () => rawView(e)], ["Hex", () => hexView(bodyBytes(e))]];
    views.forEach(([name, make], i) => {
      const b = el("button", { type: "button", role: "tab", "aria-selected": i === 0 ? "true" : "false", text: name, id: "tab-" + name.toLowerCase() });
      b.addEventListener("click", () => {
        for (const t of tabs.children) t.setAttribute("aria-selected", t === b ? "true" : "false");
        clear(pane); pane.append(make());
      });
      tabs.append(b);
    });
    detail.append(el("h3", { text: "Body" }), tabs, pane);
    pane.append(views[0][1]());
    detail.append(document.importNode($("help").content, true));
  }

  function contentType(e) {
    const h = e.headers.find((x) => x[0].toLowerCase() === "content-type");
    return h ? h[1] : "";
  }

  function bodyView(text, b64, type) {
    if (b64 !== undefined && b64 !== null) {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return el("div", null, el("p", { class: "dim", text: "Binary body (" + size(bytes.length) + "), shown as hex." }), hexView(bytes));
    }
    if (!text) return el("p", { class: "dim", text: "(empty body)" });
    const trimmed = text.trim();
    if ((trimmed.startsWith("{") || trimmed.startsWith("[")) || /json/i.test(type || "")) {
      try { JSON.parse(text); return jsonView(text); } catch (_) { /* shown as text */ }
    }
    return el("pre", { id: "body", class: "text", text: text });
  }

  // Pretty-prints JSON from its own text (so numbers and key order stay exactly as sent),
  // one text node per token.
  function jsonView(src) {
    const pre = el("pre", { id: "body", class: "json" });
    let depth = 0, i = 0, out = [];
    const ind = () => "\n" + "  ".repeat(depth);
    const push = (cls, t) => out.push([cls, t]);
    let expectKey = [];
    while (i < src.length) {
      const c = src[i];
      if (c === " " || c === "\n" || c === "\r" || c === "\t") { i++; continue; }
      if (c === '"') {
        let j = i + 1;
        while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
        const tok = src.slice(i, j + 1);
        let k = j + 1;
        while (k < src.length && /\s/.test(src[k])) k++;
        push(src[k] === ":" ? "j-key" : "j-str", tok);
        i = j + 1;
      } else if (c === "{" || c === "[") {
        expectKey.push(c);
        depth++;
        let k = i + 1;
        while (k < src.length && /\s/.test(src[k])) k++;
        if (src[k] === (c === "{" ? "}" : "]")) { push("j-punct", c + src[k]); depth--; expectKey.pop(); i = k + 1; continue; }
        push("j-punct", c + ind());
        i++;
      } else if (c === "}" || c === "]") {
        depth--; expectKey.pop();
        push("j-punct", ind() + c);
        i++;
      } else if (c === ",") {
        push("j-punct", "," + ind()); i++;
      } else if (c === ":") {
        push("j-punct", ": "); i++;
      } else {
        let j = i;
        while (j < src.length && !/[\s,\]}:]/.test(src[j])) j++;
        const tok = src.slice(i, j);
        push(/^[-0-9]/.test(tok) ? "j-num" : "j-lit", tok);
        i = Math.max(j, i + 1);
      }
    }
    for (const [cls, t] of out) pre.append(el("span", { class: cls, text: t }));
    return pre;
  }

  function hexView(bytes) {
    const LIMIT = 65536;
    const lines = [];
    for (let off = 0; off < Math.min(bytes.length, LIMIT); off += 16) {
      const chunk = bytes.slice(off, off + 16);
      const hex = Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
      lines.push(off.toString(16).padStart(8, "0") + "  " + hex.padEnd(48) + "  " + ascii);
    }
    if (bytes.length > LIMIT) lines.push("… " + (bytes.length - LIMIT) + " more bytes (export to see them all)");
    return el("pre", { class: "hex", id: "hex", text: lines.join("\n") || "(empty body)" });
  }

  function rawView(e) {
    let text = e.method + " " + (e.path_and_query || e.path) + " HTTP/1.1\n";
    for (const h of e.headers) text += h[0] + ": " + h[1] + "\n";
    text += "\n" + (e.body_base64 !== undefined ? "[" + e.size + " bytes of binary body: see Hex]" : e.body || "");
    return el("pre", { id: "raw", text });
  }

  // ---- actions ----
  function targetUrl() { return $("target").value.trim(); }
  function out() { return $("action-out") || detail; }

  function resultNode(r) {
    const good = r.status && r.status < 400 && !r.error;
    const box = el("div", { class: "result " + (good ? "ok" : "bad") });
    box.append(el("div", { class: "mono", text: (r.status ? r.status : "no answer") + " from " + r.url + " in " + r.latency_ms + " ms" + (r.attempts > 1 ? " (" + r.attempts + " attempts)" : "") }));
    if (r.error) box.append(el("div", { class: "bad", text: r.error }));
    if (r.answer && (r.answer.text || r.answer.base64)) box.append(bodyView(r.answer.text, r.answer.base64, r.content_type));
    return box;
  }

  async function replay(keys) {
    if (!keys.length) return;
    state.pinned = true;
    const where = out();
    clear(where);
    where.append(el("p", { class: "dim", text: "Replaying " + keys.length + " event" + (keys.length === 1 ? "" : "s") + "…" }));
    try {
      const r = await apiJson("api/replay", { method: "POST", json: { keys, url: targetUrl() || null } });
      clear(where);
      const box = el("div", { id: "replay-result" }, el("h3", { text: "Replayed to " + r.url }));
      for (const one of r.results) box.append(resultNode(one));
      where.append(box);
    } catch (e) {
      clear(where);
      where.append(el("p", { id: "replay-result", class: "bad", text: "Replay failed: " + e.message }));
    }
  }

  function editForm(e) {
    state.pinned = true;
    const where = out();
    clear(where);
    const text = e.body_base64 === undefined;
    const form = el("form", { class: "edit", id: "edit-form" });
    const method = el("input", { id: "edit-method", value: e.method, size: 8, "aria-label": "method" });
    const path = el("input", { id: "edit-path", value: e.path_and_query || e.path, "aria-label": "path" });
    const headers = el("textarea", { id: "edit-headers", rows: Math.min(14, e.headers.length + 2), "aria-label": "headers", spellcheck: "false" });
    headers.value = e.headers.filter((h) => !/^(host|content-length|connection|transfer-encoding)$/i.test(h[0])).map((h) => h[0] + ": " + h[1]).join("\n");
    const body = el("textarea", { id: "edit-body", rows: 12, "aria-label": "body", spellcheck: "false" });
    body.value = text ? e.body || "" : e.body_base64;
    const sign = el("select", { id: "edit-sign", "aria-label": "re-sign" }, el("option", { value: "", text: "don't re-sign" }));
    for (const s of (state.session && state.session.schemes) || []) sign.append(el("option", { value: s, text: "re-sign: " + s }));
    sign.disabled = !(state.session && state.session.can_sign);
    form.append(
      el("label", { for: "edit-method", text: "Method" }), method,
      el("label", { for: "edit-path", text: "Path" }), path,
      el("label", { for: "edit-headers", text: "Headers" }), headers,
      el("label", { for: "edit-body", text: text ? "Body" : "Body (base64)" }), body,
      el("label", { for: "edit-sign", text: "Signature" }), el("div", null, sign, state.session && state.session.can_sign ? null : el("span", { class: "dim", text: "  start hookctl with HOOKCTL_SECRET to re-sign" })),
      el("div", { class: "wide" }, el("button", { id: "edit-send", type: "submit", class: "primary", text: "Send" }), " ", el("span", { class: "dim", text: "to " + (targetUrl() || (state.session && state.session.default_target) || "the URL typed above") })),
      el("div", { class: "wide", id: "edit-result" }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const lines = headers.value.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim());
      const pairs = [];
      for (const l of lines) {
        const at = l.indexOf(":");
        if (at < 1) { showError("Each header line is Name: value (" + JSON.stringify(l) + ")"); return; }
        pairs.push([l.slice(0, at).trim(), l.slice(at + 1).replace(/^ /, "")]);
      }
      const request = { of: e.key, url: targetUrl() || null, method: method.value, path: path.value, headers: pairs, sign: sign.value || null };
      if (text) request.body = body.value; else request.body_base64 = body.value;
      const res = $("edit-result");
      clear(res);
      try {
        const r = await apiJson("api/resend", { method: "POST", json: request });
        showError("");
        res.append(el("h3", { text: "Sent (recorded as a new event, edited from " + e.id + ")" }), resultNode(r));
      } catch (err) {
        res.append(el("p", { class: "bad", text: "Send failed: " + err.message }));
      }
    });
    where.append(el("h3", { text: "Edit and resend" }), form);
    method.focus();
  }

  async function copyCurl(e) {
    state.pinned = true;
    const where = out();
    clear(where);
    try {
      const base = targetUrl() ? new URL(targetUrl()).origin : "";
      const text = await (await api("api/events/" + e.key + "/curl" + (base ? "?" + new URLSearchParams({ url: base }) : ""))).text();
      const pre = el("pre", { id: "curl-text", text });
      where.append(el("h3", { text: "curl" }), pre);
      try { await navigator.clipboard.writeText(text); where.append(el("p", { class: "ok", id: "curl-copied", text: "Copied to the clipboard." })); }
      catch (_) { where.append(el("p", { class: "dim", text: "Select the command to copy it." })); }
    } catch (err) {
      where.append(el("p", { class: "bad", text: "curl: " + err.message }));
    }
  }

  async function exportAs(format, keys) {
    const params = new URLSearchParams({ format });
    if (keys && keys.length) params.set("keys", keys.join(","));
    else if (state.q) params.set("q", state.q);
    try {
      const blob = await (await api("api/export?" + params)).blob();
      const a = el("a", { href: URL.createObjectURL(blob), download: "hookctl." + format });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) { showError("Export: " + e.message); }
  }

  // ---- live feed: a streamed fetch (it can carry the token, which EventSource cannot) ----
  async function live() {
    const badge = $("live");
    for (;;) {
      try {
        const response = await api("api/stream");
        badge.textContent = "live"; badge.className = "live on";
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (/^event: change/m.test(message)) scheduleRefresh(true);
            if (/^event: bye/m.test(message)) { badge.textContent = "stopped"; badge.className = "live off"; return; }
          }
        }
      } catch (_) { /* retried below */ }
      badge.textContent = "offline"; badge.className = "live off";
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  // Live updates redraw the list at most once a second; scrolling redraws at once.
  let refreshQueued = false, refreshedAt = 0;
  function scheduleRefresh(live) {
    if (refreshQueued) return;
    refreshQueued = true;
    const wait = live ? Math.max(0, refreshedAt + 1000 - Date.now()) : 0;
    setTimeout(() => requestAnimationFrame(() => {
      refreshQueued = false;
      refreshedAt = Date.now();
      loadWindow();
    }), wait);
  }

  // ---- keyboard ----
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (typing) {
      if (ev.key === "Escape") { t.blur(); list.focus(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const selected = () => state.detail;
    switch (ev.key) {
      case "j": case "ArrowDown": ev.preventDefault(); move(1); break;
      case "k": case "ArrowUp": ev.preventDefault(); move(-1); break;
      case "Enter": ev.preventDefault(); if (state.selKey !== null) { state.pinned = true; openDetail(state.selKey); detail.focus(); } break;
      case "/": ev.preventDefault(); $("q").focus(); $("q").select(); break;
      case "r": ev.preventDefault(); replay(state.checked.size ? Array.from(state.checked) : state.selKey !== null ? [state.selKey] : []); break;
      case "x": ev.preventDefault(); if (state.selKey !== null) toggleCheck(state.selKey); break;
      case "e": if (selected()) { ev.preventDefault(); editForm(selected()); } break;
      case "c": if (selected()) { ev.preventDefault(); copyCurl(selected()); } break;
      default: break;
    }
  });

  // ---- start ----
  let searchTimer = 0;
  $("q").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = $("q").value.trim();
      writeHash();
      state.pinned = false;
      list.scrollTop = 0;
      loadWindow();
    }, 200);
  });
  window.addEventListener("hashchange", () => {
    const q = readHash();
    if (q !== state.q) { state.q = q; $("q").value = q; loadWindow(); }
  });
  list.addEventListener("scroll", () => scheduleRefresh(), { passive: true });
  window.addEventListener("resize", () => scheduleRefresh());
  $("btn-replay-checked").addEventListener("click", () => replay(state.checked.size ? Array.from(state.checked) : state.selKey !== null ? [state.selKey] : []));
  $("btn-har").addEventListener("click", () => exportAs("har", Array.from(state.checked)));
  $("btn-jsonl").addEventListener("click", () => exportAs("jsonl", Array.from(state.checked)));

  async function start() {
    state.q = readHash();
    $("q").value = state.q;
    state.token = sessionStorage.getItem("hookctl-token");
    try {
      state.session = await apiJson("api/session");
    } catch (e) {
      if (e.status === 403 && !state.token) showError("This inspector needs its token: open it as …/_hookctl/#token=YOUR_UI_TOKEN");
      else showError(e.message);
      return;
    }
    if (state.session.token) state.token = state.session.token;
    $("target").placeholder = state.session.default_target ? "send to " + state.session.default_target : "send replays to URL";
    document.title = "hookctl inspector · " + state.session.source;
    await loadWindow();
    live();
  }
  start();
})();
