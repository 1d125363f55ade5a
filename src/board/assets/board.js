// labctl board --web: draws the board the server sends (server-sent events, the whole
// view each time) into a real table, updated in place so focus and the open cell stay.
"use strict";

const MARKS = { done: "✓", not_yet: "·", broken: "✗", checking: "…", no_answer: "?" };
const WORDS = { done: "done", not_yet: "not yet", broken: "broken", checking: "checking", no_answer: "no answer" };
const MAX_CHANGES = 30;
// Per user and column, what each state check asserts (with the user's variables).
const CHECKS = JSON.parse(document.getElementById("checks").textContent);

const table = document.getElementById("board");
const detail = document.getElementById("detail");
let view = null;        // the latest view from the server
let rows = [];          // per user: { tr, kind, buttons: [] }
let footer = [];        // per column: the "done" button
let cursor = { row: 0, col: 0 };
let opened = null;      // { row, col } of the cell whose detail is shown
let seen = null;        // per user: { env, states: [] }, to log what changed

function age(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

// --- building the table (once, and a row again when its environment comes or goes)

function buildHead() {
  const tr = el("tr");
  tr.append(el("th", { scope: "col" }, "user"));
  for (const c of view.columns) tr.append(el("th", { scope: "col" }, c.id));
  tr.append(el("th", { scope: "col" }, "furthest"), el("th", { scope: "col" }, "since progress"),
    el("th", { scope: "col" }, "stuck"));
  table.tHead.replaceChildren(tr);
  const foot = el("tr");
  foot.append(el("th", { scope: "row" }, "done"));
  footer = view.columns.map((c, col) => {
    const b = gridButton(view.board.users.length, col);
    const td = el("td");
    td.append(b);
    foot.append(td);
    return b;
  });
  foot.append(el("td"), el("td"), el("td"));
  table.tFoot.replaceChildren(foot);
}

function gridButton(row, col) {
  const b = el("button", { type: "button", tabindex: "-1", "aria-controls": "detail", "aria-expanded": "false" });
  b.dataset.row = row;
  b.dataset.col = col;
  b.addEventListener("click", () => { move(row, col); toggle(row, col); });
  b.addEventListener("focus", () => { cursor = { row, col }; roving(); });
  return b;
}

function buildRow(u, i) {
  const tr = el("tr");
  tr.dataset.user = u.user;
  tr.append(el("th", { scope: "row" }, u.user));
  const row = { tr, kind: u.environment, buttons: [] };
  if (u.environment === "missing") {
    const td = el("td", { colspan: String(view.columns.length) });
    const b = gridButton(i, 0);
    b.classList.add("no-environment");
    td.append(b);
    tr.append(td);
    row.buttons = view.columns.map(() => b);
  } else {
    row.buttons = view.columns.map((c, col) => {
      const td = el("td");
      const b = gridButton(i, col);
      b.classList.add("cell");
      b.dataset.step = c.id;
      td.append(b);
      tr.append(td);
      return b;
    });
  }
  tr.append(el("td", { class: "info furthest" }), el("td", { class: "info since" }), el("td", { class: "stuck-mark" }));
  return row;
}

// --- drawing a view into the table

function drawRow(row, u) {
  if (u.environment === "missing") {
    const b = row.buttons[0];
    setText(b, "no environment: " + u.environment_reason);
    b.dataset.state = "no_environment";
  } else {
    u.cells.forEach((c, col) => drawCell(row.buttons[col], u.user, view.columns[col].id, c));
  }
  const [furthest, since, stuck] = row.tr.querySelectorAll("td.info, td.stuck-mark");
  setText(furthest, u.furthest || "-");
  setText(since, age(u.since_progress_ms));
  setText(stuck, u.stuck ? "stuck" : "");
  row.tr.classList.toggle("stuck", u.stuck);
}

function drawCell(b, user, step, c) {
  const stale = c.stale_ms !== null && c.stale_ms !== undefined;
  const text = MARKS[c.state] + (stale ? "~" + age(c.stale_ms) : "");
  if (b.dataset.text !== text) {
    b.dataset.text = text;
    b.replaceChildren(MARKS[c.state]);
    if (stale) b.append(el("span", { class: "age" }, age(c.stale_ms)));
  }
  b.dataset.state = c.state;
  b.classList.toggle("stale", stale);
  let label = user + ", " + step + ": " + WORDS[c.state];
  if (stale) label += ", stale: last answer " + age(c.stale_ms) + " ago";
  if (b.getAttribute("aria-label") !== label) b.setAttribute("aria-label", label);
}

function drawFooter() {
  const n = view.board.users.length;
  view.board.steps.forEach((s, col) => {
    setText(footer[col], s.done + "/" + n);
    footer[col].setAttribute("aria-label", s.id + ": " + s.done + " of " + n + " users done");
  });
}

function drawSummary() {
  const users = view.board.users;
  const parts = [users.length + " users", view.columns.length + " steps watched"];
  const stuck = users.filter((u) => u.stuck).length;
  const noEnv = users.filter((u) => u.environment === "missing").length;
  const stale = users.reduce((n, u) => n + u.cells.filter((c) => c.stale_ms !== null).length, 0);
  if (stuck) parts.push(stuck + " stuck");
  if (noEnv) parts.push(noEnv + " without environment");
  if (stale) parts.push(stale + " cells stale (no answer)");
  setText(document.getElementById("summary"), parts.join(" · "));
}

function draw(next) {
  const first = view === null;
  view = next;
  if (first) {
    buildHead();
    rows = [];
    table.tBodies[0].replaceChildren();
  }
  view.board.users.forEach((u, i) => {
    if (!rows[i] || rows[i].kind !== u.environment) {
      const row = buildRow(u, i);
      if (rows[i]) rows[i].tr.replaceWith(row.tr); else table.tBodies[0].append(row.tr);
      rows[i] = row;
    }
    drawRow(rows[i], u);
  });
  drawFooter();
  drawSummary();
  logChanges();
  roving();
  if (opened) showDetail(opened.row, opened.col);
}

// --- what changed, for the log (the first look at each cell is not a change)

function logChanges() {
  const now = view.board.users.map((u) => ({ env: u.environment, states: u.cells.map((c) => c.state) }));
  if (seen) {
    const clock = new Date().toLocaleTimeString();
    view.board.users.forEach((u, i) => {
      const before = seen[i];
      if (before.env !== u.environment) {
        addChange(clock + " " + u.user + (u.environment === "missing"
          ? " no environment: " + u.environment_reason : " environment found"));
        return;
      }
      u.cells.forEach((c, col) => {
        const was = before.states[col];
        if (was !== c.state && was !== "checking" && c.state !== "no_environment") {
          addChange(clock + " " + u.user + " " + c.step + " " + MARKS[c.state] + " " + WORDS[c.state]);
        }
      });
    });
  }
  seen = now;
}

function addChange(text) {
  const log = document.getElementById("changes");
  log.prepend(el("li", {}, text));
  while (log.children.length > MAX_CHANGES) log.lastElementChild.remove();
}

// --- keyboard: one tab stop in the grid (roving tabindex), arrows move

function buttonAt(row, col) {
  if (row === rows.length) return footer[col];
  return rows[row] && rows[row].buttons[col];
}

function roving() {
  for (const b of table.querySelectorAll("button[tabindex='0']")) b.tabIndex = -1;
  const b = buttonAt(cursor.row, cursor.col);
  if (b) b.tabIndex = 0;
}

function move(row, col) {
  const rowsN = rows.length + 1;
  const cols = view.columns.length;
  cursor = { row: Math.max(0, Math.min(rowsN - 1, row)), col: Math.max(0, Math.min(cols - 1, col)) };
  roving();
  const b = buttonAt(cursor.row, cursor.col);
  if (b && document.activeElement !== b) b.focus();
}

table.addEventListener("keydown", (e) => {
  if (!view) return;
  const { row, col } = cursor;
  const keys = {
    ArrowUp: [row - 1, col], ArrowDown: [row + 1, col], ArrowLeft: [row, col - 1], ArrowRight: [row, col + 1],
    Home: [row, 0], End: [row, view.columns.length - 1],
  };
  if (keys[e.key]) {
    e.preventDefault();
    move(...keys[e.key]);
    if (opened) showDetail(cursor.row, cursor.col);
  } else if (e.key === "Escape") {
    closeDetail();
  }
});

// --- the detail of one cell (or of a step, from the "done" row)

function toggle(row, col) {
  if (opened && opened.row === row && opened.col === col) closeDetail();
  else showDetail(row, col);
}

function cellDetail(row, col) {
  const column = view.columns[col];
  if (row === rows.length) {
    const s = view.board.steps[col];
    const n = view.board.users.length;
    return {
      title: column.id + ": " + (n - s.done) + " of " + n + " users not done",
      state: s.done + " done",
      reason: s.common_reason ? "Most common reason: " + s.common_reason : "",
    };
  }
  const u = view.board.users[row];
  const c = u.cells[col];
  if (u.environment === "missing") {
    return { title: u.user + " · " + column.id + ": no environment", state: "no environment", reason: u.environment_reason };
  }
  let state = WORDS[c.state];
  if (c.stale_ms !== null) state += " (stale: last answer " + age(c.stale_ms) + " ago)";
  return { title: u.user + " · " + column.id + ": " + WORDS[c.state], state: state, reason: c.reason || "" };
}

function showDetail(row, col) {
  const d = cellDetail(row, col);
  const wasHidden = detail.hidden;
  setText(document.getElementById("detail-title"), d.title);
  setText(document.getElementById("detail-state"), "State: " + d.state);
  setText(document.getElementById("detail-reason"), d.reason);
  const checks = row < rows.length ? (CHECKS[row] || [])[col] || [] : [];
  const list = document.getElementById("detail-checks");
  if (list.dataset.text !== checks.join("\n")) {
    list.dataset.text = checks.join("\n");
    list.replaceChildren(...checks.map((c) => el("li", {}, c)));
  }
  detail.hidden = false;
  if (wasHidden) detail.setAttribute("aria-live", "polite");
  for (const b of table.querySelectorAll("button[aria-expanded='true']")) b.setAttribute("aria-expanded", "false");
  const b = buttonAt(row, col);
  if (b) b.setAttribute("aria-expanded", "true");
  opened = { row, col };
}

function closeDetail() {
  detail.hidden = true;
  for (const b of table.querySelectorAll("button[aria-expanded='true']")) b.setAttribute("aria-expanded", "false");
  opened = null;
  const b = buttonAt(cursor.row, cursor.col);
  if (b) b.focus();
}

document.getElementById("detail-close").addEventListener("click", closeDetail);
detail.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(); });

// --- the snapshot button

document.getElementById("snapshot").addEventListener("click", async () => {
  const saved = document.getElementById("saved");
  saved.textContent = "Saving…";
  try {
    const r = await fetch("/api/snapshot", { method: "POST" });
    const body = await r.json();
    saved.textContent = r.ok ? "Snapshot saved to " + body.saved : "Snapshot not saved: " + body.error;
    saved.dataset.path = r.ok ? body.saved : "";
  } catch (e) {
    saved.textContent = "Snapshot not saved: the board did not answer (" + e + ")";
  }
});

// --- the live feed

function connect() {
  const status = document.getElementById("connection");
  const feed = new EventSource("/api/events");
  feed.addEventListener("open", () => { status.textContent = "live"; status.className = "connection live"; });
  feed.addEventListener("board", (e) => draw(JSON.parse(e.data)));
  feed.addEventListener("end", () => {
    feed.close();
    status.textContent = "the board has stopped";
    status.className = "connection lost";
  });
  feed.addEventListener("error", () => {
    if (feed.readyState !== EventSource.CLOSED) {
      status.textContent = "connection lost, retrying";
      status.className = "connection lost";
    }
  });
}

connect();
