// labctl serve: the page's behaviour. Talks only to the labctl that served it:
// the JSON API for steps and progress, one WebSocket per terminal for its screen.
"use strict";
(function () {
  const api = (path, opts) =>
    fetch(path, Object.assign({ credentials: "same-origin", headers: { "Content-Type": "application/json" } }, opts))
      .then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }));

  let workshop = { labs: [], terminals: [] };
  let progress = { steps: {} };
  const stepInfo = {};

  // ---- terminals -------------------------------------------------------
  const PALETTE = 16;
  function colour(c, fallback) {
    if (c === null || c === undefined) return fallback;
    if (typeof c === "string") return c;
    if (c < PALETTE) return "var(--t" + c + ")";
    if (c < 232) {
      const i = c - 16, steps = [0, 95, 135, 175, 215, 255];
      return "rgb(" + steps[Math.floor(i / 36)] + "," + steps[Math.floor(i / 6) % 6] + "," + steps[i % 6] + ")";
    }
    const g = 8 + (c - 232) * 10;
    return "rgb(" + g + "," + g + "," + g + ")";
  }

  class Term {
    constructor(el) {
      this.el = el;
      this.n = el.dataset.terminal;
      this.screen = el.querySelector(".screen");
      this.exitedBox = el.querySelector(".exited");
      this.rows = [];
      this.size = [0, 0];
      this.mode = {};
      this.cursorEl = document.createElement("span");
      this.cursorEl.className = "cursor";
      this.listeners = [];
      el.addEventListener("keydown", (e) => this.key(e));
      el.addEventListener("paste", (e) => {
        e.preventDefault();
        const text = (e.clipboardData || window.clipboardData).getData("text");
        this.paste(text);
      });
      el.addEventListener("click", () => el.focus());
      const restart = el.querySelector("[data-action=new-shell]");
      restart.addEventListener("click", async (e) => {
        e.stopPropagation();
        await api("/api/terminals/" + this.n + "/restart", { method: "POST" });
        this.exitedBox.hidden = true;
        this.connect();
      });
      new ResizeObserver(() => this.fit()).observe(el);
      this.connect();
    }
    connect() {
      if (this.ws) { this.ws.onclose = null; this.ws.close(); }
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(proto + "//" + location.host + "/api/terminals/" + this.n + "/ws");
      this.ws = ws;
      ws.onopen = () => { this.sent = null; this.exited = false; this.exitedBox.hidden = true; this.fit(true); };
      ws.onmessage = (m) => this.message(JSON.parse(m.data));
      ws.onclose = () => { if (!this.exited) setTimeout(() => this.connect(), 1000); };
    }
    send(obj) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(obj)); }
    input(data) { this.send({ type: "input", data }); }
    paste(text) {
      const t = text.replace(/\r?\n/g, "\r");
      this.input(this.mode.bracketedPaste ? "\x1b[200~" + t + "\x1b[201~" : t);
    }
    fit(force) {
      const probe = document.createElement("span");
      probe.textContent = "M".repeat(10);
      probe.className = "probe";
      this.screen.appendChild(probe);
      const cw = probe.getBoundingClientRect().width / 10;
      const ch = probe.getBoundingClientRect().height || 17;
      probe.remove();
      const box = this.el.getBoundingClientRect();
      if (!cw || !box.width) return;
      const cols = Math.max(20, Math.floor((box.width - 16) / cw));
      const rows = Math.max(5, Math.floor((box.height - 16) / ch));
      const key = rows + "x" + cols;
      if (force || key !== this.sent) { this.sent = key; this.send({ type: "resize", rows, cols }); }
    }
    message(m) {
      if (m.type === "exited") {
        this.exited = true;
        this.exitedBox.hidden = false;
        setTabState(this.n, "exited");
        return;
      }
      if (m.type !== "screen") return;
      this.mode = m;
      if (m.full || this.rows.length !== m.size[0]) {
        this.screen.textContent = "";
        this.rows = [];
        for (let r = 0; r < m.size[0]; r++) {
          const div = document.createElement("div");
          div.className = "row";
          this.screen.appendChild(div);
          this.rows.push(div);
        }
      }
      for (const [r, runs] of Object.entries(m.rows)) this.drawRow(this.rows[+r], runs);
      this.drawCursor(m);
      this.el.classList.toggle("alternate", !!m.alternate);
      if (!this.exited) setTabState(this.n, m.busy ? "busy" : m.lastExit === null ? "" : m.lastExit === 0 ? "ok" : "fail");
      for (const f of this.listeners) f(m);
    }
    drawRow(div, runs) {
      div.textContent = "";
      if (!runs.length) { div.appendChild(document.createTextNode("\u200b")); return; }
      for (const [text, fg, bg, bits] of runs) {
        const span = document.createElement("span");
        span.textContent = text;
        let f = colour(fg, null), b = colour(bg, null);
        if (bits & 8) { const t = f || "var(--term-fg)"; f = b || "var(--term-bg)"; b = t; }
        if (f) span.style.color = f;
        if (b) span.style.background = b;
        if (bits & 1) span.style.fontWeight = "bold";
        if (bits & 2) span.style.fontStyle = "italic";
        if (bits & 4) span.style.textDecoration = "underline";
        if (bits & 16) span.style.opacity = "0.7";
        div.appendChild(span);
      }
    }
    drawCursor(m) {
      this.cursorEl.hidden = !!m.hideCursor;
      this.cursorEl.style.top = "calc(" + m.cursor[0] + " * var(--row-h) + 8px)";
      this.cursorEl.style.left = "calc(" + m.cursor[1] + "ch + 8px)";
      if (this.cursorEl.parentNode !== this.el) this.el.appendChild(this.cursorEl);
    }
    key(e) {
      const k = e.key;
      const app = this.mode.appCursor;
      const arrows = { ArrowUp: "A", ArrowDown: "B", ArrowRight: "C", ArrowLeft: "D", Home: "H", End: "F" };
      const tilde = { Insert: 2, Delete: 3, PageUp: 5, PageDown: 6, F5: 15, F6: 17, F7: 18, F8: 19, F9: 20, F10: 21, F11: 23, F12: 24 };
      const fkeys = { F1: "P", F2: "Q", F3: "R", F4: "S" };
      let data = null;
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (k === "v" || k === "V") && e.shiftKey) return; // let paste happen
      if (e.ctrlKey && !e.altKey && k.length === 1) {
        const c = k.toUpperCase().charCodeAt(0);
        if (c >= 64 && c <= 95) data = String.fromCharCode(c - 64);
        else if (k === " ") data = "\x00";
        else if (k === "/") data = "\x1f";
      } else if (k in arrows) data = "\x1b" + (app ? "O" : "[") + arrows[k];
      else if (k in tilde) data = "\x1b[" + tilde[k] + "~";
      else if (k in fkeys) data = "\x1bO" + fkeys[k];
      else if (k === "Enter") data = "\r";
      else if (k === "Backspace") data = "\x7f";
      else if (k === "Tab") data = e.shiftKey ? "\x1b[Z" : "\t";
      else if (k === "Escape") data = "\x1b";
      else if (k.length === 1 && !e.ctrlKey && !e.metaKey) data = (e.altKey ? "\x1b" : "") + k;
      if (data === null) return;
      e.preventDefault();
      this.input(data);
    }
  }

  const terms = {};
  function setTabState(n, state) {
    const tab = document.querySelector('.tab[data-tab="' + n + '"]');
    if (tab) tab.dataset.state = state;
  }
  function showTerminal(n) {
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab == n));
    document.querySelectorAll(".terminal").forEach((t) => { t.hidden = t.dataset.terminal != n; });
    const t = terms[n];
    if (t) { t.fit(); t.el.focus({ preventScroll: true }); }
  }

  // ---- steps -----------------------------------------------------------
  const LABEL = { "not-started": "not started", running: "running", passed: "passed", failed: "failed" };
  const MARK = { passed: "\u2713", failed: "\u2717", error: "\u2717", skipped: "\u2013" };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function decorate(step) {
    const box = document.querySelector('[data-step="' + CSS.escape(step.id) + '"]');
    if (!box) return;
    stepInfo[step.id] = { step, box };
    const bar = el("div", "step-bar");
    const state = el("span", "step-state");
    bar.appendChild(state);
    for (const a of step.actions) {
      const label = { run: step.kind === "interrupt" ? "Press Ctrl-C" : "Run", check: "Check", interrupt: "Interrupt", copy: "Copy" }[a];
      const b = el("button", a === "run" ? "primary" : "secondary", label);
      b.dataset.action = a;
      b.addEventListener("click", () => act(step, a, b));
      bar.appendChild(b);
    }
    const cancel = el("button", "secondary cancel", "Cancel");
    cancel.dataset.action = "cancel";
    cancel.hidden = true;
    cancel.addEventListener("click", () => api("/api/steps/" + encodeURIComponent(step.id) + "/cancel", { method: "POST" }));
    bar.appendChild(cancel);
    const countdown = el("span", "countdown");
    bar.appendChild(countdown);
    box.appendChild(bar);
    box.appendChild(el("div", "step-result"));
    setOutcome(step.id, "not-started");
  }

  async function act(step, action, button) {
    if (action === "copy") {
      const text = step.command;
      try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
      catch (_) { button.textContent = "Select and copy"; }
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
      return;
    }
    const { box } = stepInfo[step.id];
    if (typeof step.terminal === "number" && action !== "check") showTerminal(step.terminal);
    setOutcome(step.id, "running");
    const bar = box.querySelector(".step-bar");
    const cancel = bar.querySelector(".cancel");
    const countdown = bar.querySelector(".countdown");
    let timer = null;
    if (action === "check") {
      const waits = step.checks.filter((c) => c.state && c.within_ms).map((c) => c.within_ms);
      if (waits.length) {
        const end = Date.now() + waits.reduce((a, b) => a + b, 0);
        cancel.hidden = false;
        const tick = () => { countdown.textContent = "checking, up to " + Math.max(0, Math.ceil((end - Date.now()) / 1000)) + "s"; };
        tick();
        timer = setInterval(tick, 250);
      } else countdown.textContent = "checking";
    }
    const r = await api("/api/steps/" + encodeURIComponent(step.id) + "/" + action, { method: "POST" });
    if (timer) clearInterval(timer);
    cancel.hidden = true;
    countdown.textContent = "";
    if (r.status === 200) {
      progress.steps[step.id] = r.body;
      render(step.id, r.body);
    } else {
      render(step.id, { outcome: "failed", reason: r.body.error || "HTTP " + r.status, checks: [] });
    }
    updateBars();
  }

  function setOutcome(id, outcome) {
    const info = stepInfo[id];
    if (!info) return;
    info.box.dataset.outcome = outcome;
    info.box.querySelector(".step-state").textContent = LABEL[outcome] || outcome;
  }

  function render(id, rec) {
    const info = stepInfo[id];
    if (!info) return;
    setOutcome(id, rec.outcome || "not-started");
    const out = info.box.querySelector(".step-result");
    out.textContent = "";
    if (rec.reason) out.appendChild(el("p", "reason", rec.reason));
    if (!rec.checks || !rec.checks.length) return;
    const ul = el("ul", "checks");
    for (const c of rec.checks) {
      const li = el("li", "check " + c.outcome);
      li.dataset.checkOutcome = c.outcome;
      li.appendChild(el("span", "mark", MARK[c.outcome] || "?"));
      li.appendChild(sentence(c.sentence));
      if (c.outcome !== "passed") {
        const dl = el("dl");
        if (c.expected) { dl.appendChild(el("dt", "", "expected")); dl.appendChild(el("dd", "", c.expected)); }
        if (c.actual) { dl.appendChild(el("dt", "", "actual")); dl.appendChild(el("dd", "", c.actual)); }
        if (dl.childNodes.length) li.appendChild(dl);
        if (c.detail) li.appendChild(el("pre", "detail", c.detail));
        if (c.hint) li.appendChild(el("p", "hint", "Hint: " + c.hint));
      }
      ul.appendChild(li);
    }
    out.appendChild(ul);
  }

  // Plain-English sentences mark paths, patterns and commands with backticks.
  function sentence(text) {
    const span = el("span", "sentence");
    const parts = text.split("`");
    if (parts.length % 2 === 0) { span.textContent = text; return span; }
    parts.forEach((p, i) => span.appendChild(i % 2 ? el("code", "", p) : document.createTextNode(p)));
    return span;
  }

  function counted(step) { return step.kind !== "manual"; }

  function updateBars() {
    for (const lab of workshop.labs) {
      const section = document.querySelector('.lab[data-lab="' + lab.index + '"]');
      if (!section) continue;
      const steps = lab.steps.filter(counted);
      const done = steps.filter((s) => (progress.steps[s.id] || {}).outcome === "passed").length;
      section.querySelector(".bar span").style.width = (steps.length ? (100 * done) / steps.length : 0) + "%";
      section.querySelector(".count").textContent = done + " of " + steps.length + " steps passed";
    }
  }

  async function refresh() {
    const r = await api("/api/progress");
    if (r.status !== 200) return;
    progress = r.body;
    for (const [id, rec] of Object.entries(progress.steps)) {
      const info = stepInfo[id];
      if (!info) continue;
      // A click in this page shows its own result; others (API, other tabs) arrive here.
      if (info.box.dataset.outcome !== rec.outcome || info.shownAt !== rec.at) {
        info.shownAt = rec.at;
        render(id, rec);
      }
    }
    updateBars();
  }

  function nextStep() {
    for (const lab of workshop.labs) {
      for (const s of lab.steps.filter(counted)) {
        if ((progress.steps[s.id] || {}).outcome !== "passed") {
          const info = stepInfo[s.id];
          if (info) { info.box.scrollIntoView({ behavior: "smooth", block: "center" }); info.box.classList.add("flash"); setTimeout(() => info.box.classList.remove("flash"), 1200); }
          return;
        }
      }
    }
  }

  async function start() {
    document.querySelectorAll(".terminal").forEach((t) => { terms[t.dataset.terminal] = new Term(t); });
    document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => showTerminal(t.dataset.tab)));
    showTerminal(Object.keys(terms)[0]);
    const w = await api("/api/workshop");
    workshop = w.body;
    for (const lab of workshop.labs) for (const s of lab.steps) decorate(s);
    document.querySelector("[data-action=reset]").addEventListener("click", async () => {
      await api("/api/progress", { method: "DELETE" });
      for (const id of Object.keys(stepInfo)) render(id, { outcome: "not-started", checks: [] });
      await refresh();
    });
    document.querySelector("[data-action=next-step]").addEventListener("click", nextStep);
    await refresh();
    setInterval(refresh, 2000);
    document.body.dataset.ready = "true";
  }

  window.labctl = { terms, showTerminal, refresh };
  start();
})();
