// Commitments pages: the list (index) and one commitment (detail), kept live for both partners.
// Every user text enters the DOM through textContent or attributes; new rows are clones of the
// server-rendered <template>s, never HTML strings.
import { labels, url } from "../config.js";
import { forgetKept } from "../quickexit.js";


function q(root, sel) { return root.querySelector(sel); }
function qa(root, sel) { return Array.from(root.querySelectorAll(sel)); }
function byAttr(attr, value, root = document) { return qa(root, `[${attr}="${CSS.escape(String(value))}"]`); }
function setText(el, text) { if (el) el.textContent = text == null ? "" : String(text); }
function show(el, visible) { if (el) el.hidden = !visible; }
function statusLabel(status) { return labels("commitment_status")[status] || status; }

// Where things are: the server's url_for templates (couple/client.py), never spelled here.
export const links = {
  commitment: (cid) => url("commitment", { commitment_id: cid }),
  day: (cid, day) => url("commitment_day", { commitment_id: cid, day }),
  action: (cid, day, verb) => url(`commitment_${verb}`, { commitment_id: cid, day }), // mark, acknowledge
  trend: (personId, weeks) => url("commitment_trend", { person_id: personId, weeks }),
};

function nameOf(live, userId) {
  const info = live.state.couple && live.state.couple.info;
  if (userId === live.me) return "You";
  if (info && info.partner && info.partner.id === userId) return info.partner.name;
  return "Your partner";
}

function localToday() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// ---------------------------------------------------------------- shared pieces

// kept ÷ marked, in the same words as rate_words in templates/commitments/_macros.html.
export function rateWords(t) {
  let text = "no days marked yet";
  if (t.marked) text = `${t.rate}% · ${t.kept} of ${t.marked} marked day${t.marked === 1 ? "" : "s"} kept`;
  if (t.unmarked) text += ` · ${t.unmarked} not marked`;
  return text;
}

export function fillRates(container, rates) {
  if (!container || !rates) return;
  for (const el of qa(container, "[data-rate]")) {
    const t = rates[el.dataset.rate];
    if (!t) continue;
    const total = t.marked || 1;
    const kept = (100 * t.kept) / total;
    const missed = (100 * t.missed) / total;
    q(el, ".bar-kept").setAttribute("width", kept.toFixed(2));
    const m = q(el, ".bar-missed");
    m.setAttribute("x", kept.toFixed(2));
    m.setAttribute("width", missed.toFixed(2));
    setText(q(el, ".rate-text"), rateWords(t));
  }
}

function fillMarkView(root, mark, live) {
  const view = q(root, ".mark-view");
  if (!view) return;
  show(view, !!mark);
  show(q(root, ".not-marked"), !mark);
  if (!mark) return;
  const status = q(view, ".mark-status");
  status.dataset.status = mark.status;
  setText(status, mark.status === "kept" ? "Kept" : "Missed");
  show(q(view, ".corrected"), !!mark.corrected_at);
  const note = q(view, ".mark-note");
  setText(note, mark.note);
  show(note, !!mark.note);
  const ack = mark.ack;
  show(q(view, ".ack-line"), !!ack);
  if (ack) {
    setText(q(view, ".ack-who"), ack.by === live.me ? "You" : nameOf(live, ack.by));
    setText(q(view, ".ack-seen"), ack.seen_status !== mark.status ? ` (when it said ${ack.seen_status})` : "");
  }
  const ackNote = q(view, ".ack-note");
  setText(ackNote, ack ? ack.note : "");
  show(ackNote, !!(ack && ack.note));
}

function fillMarkForm(form, mark) {
  if (!form) return;
  form.querySelector('input[name="version"]').value = mark ? mark.version : 0;
  const note = form.querySelector('input[name="note"]');
  if (!form.dataset.dirty) note.value = mark ? mark.note : "";
  for (const b of qa(form, 'button[name="status"]:not(.save-note)')) {
    b.setAttribute("aria-pressed", mark && mark.status === b.value ? "true" : "false");
  }
  const saveNote = q(form, "button.save-note");
  if (saveNote) {
    saveNote.value = mark ? mark.status : "";
    show(saveNote, !!mark);
  }
}

function fillAckForm(form, mark) {
  if (!form) return;
  show(form, !!mark);
  const note = form.querySelector('input[name="note"]');
  if (!form.dataset.dirty) note.value = mark && mark.ack ? mark.ack.note : "";
  setText(q(form, 'button[type="submit"]'), mark && mark.ack ? "Update what I said" : "I noticed");
}

function setAction(form, cid, day, verb) {
  form.action = links.action(cid, day, verb);
  form.dataset.c = cid;
  form.dataset.day = day;
}

// Submitting any of our forms goes through live.mutate (op id, CSRF header, retries).
function wireForms(live, root = document) {
  for (const form of qa(root, "form.mark-form, form.ack-form, form.reword, form.status-form")) {
    if (form.dataset.wired) continue;
    form.dataset.wired = "1";
    for (const input of qa(form, "input[type=text], textarea")) {
      input.addEventListener("input", () => { form.dataset.dirty = "1"; });
    }
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(live, form, event.submitter); });
  }
}

async function submit(live, form, submitter) {
  const note = q(form, ".save-state");
  const body = {};
  for (const [k, v] of new FormData(form).entries()) if (k !== "csrf_token") body[k] = v;
  if (submitter && submitter.name) body[submitter.name] = submitter.value;
  if ("version" in body) body.version = Number(body.version);
  setText(note, "Saving…");
  const answer = await live.mutate(form.action, body);
  if (answer.ok) {
    delete form.dataset.dirty;
    setText(note, "Saved");
    const noteOnly = submitter && submitter.classList.contains("save-note");
    if (noteOnly) setText(note, "Note saved");
    if (form.classList.contains("mark-form")) fillMarkForm(form, answer.result);
    if (form.classList.contains("reword")) form.querySelector('input[name="version"]').value = answer.result.version;
    live.announce(noteOnly ? "Note saved." : form.classList.contains("mark-form") ? `Marked ${answer.result.status}.` : "Saved.");
  } else if (answer.status === 409) {
    const current = answer.current;
    if (form.classList.contains("mark-form")) {
      delete form.dataset.dirty;
      fillMarkForm(form, current);
      setText(note, current ? `Already marked ${current.status} in another tab. Choose again to change it.` : answer.error);
    } else if (form.classList.contains("reword") && current) {
      form.querySelector('input[name="version"]').value = current.version;
      setText(note, `Reworded elsewhere meanwhile to “${current.wording}”. Save again to replace it.`);
    } else {
      setText(note, answer.error || "Changed elsewhere.");
    }
    live.announce(q(form, ".save-state") ? note.textContent : answer.error);
  } else {
    setText(note, answer.error || "That did not save.");
    live.announce(answer.error || "That did not save.");
  }
}

function announceEvent(live, ev, collection, item) {
  if (!item || !ev.actor || ev.actor === live.me) return;
  const who = nameOf(live, ev.actor);
  const c = collection === "commitments" ? item : (live.state.commitments || {})[item.commitment_id];
  const words = c ? `“${c.wording}”` : "a commitment";
  const said = {
    "commitments.made": `${who} made a commitment: ${words}.`,
    "commitments.reworded": `${who} reworded a commitment: ${words}.`,
    "commitments.paused": `${who} paused ${words}.`,
    "commitments.resumed": `${who} resumed ${words}.`,
    "commitments.ended": `${who} ended ${words}.`,
    "commitments.marked": collection === "commitment_marks" ? `${who} marked ${words} ${item.status} for ${item.day}.` : null,
    "commitments.acknowledged": `${who} noticed your mark on ${words}.`,
  }[ev.type];
  if (said) live.announce(said);
}

// ---------------------------------------------------------------- the list page

function trendRefresher(live) {
  const timers = {};
  return (personId) => {
    const fig = byAttr("data-trend-for", personId)[0];
    if (!fig) return;
    clearTimeout(timers[personId]);
    timers[personId] = setTimeout(async () => {
      const weeks = fig.querySelectorAll("[data-week]").length;
      try {
        const r = await fetch(links.trend(personId, weeks), { headers: { Accept: "application/json" } });
        if (!r.ok) return;
        const data = await r.json();
        fillTrend(fig, data.weeks);
      } catch (e) {
        // Offline: the trend stays as drawn; the next change (or the reconnect's sync) asks again.
      }
    }, 250);
  };
}

export function fillTrend(fig, weeks) {
  for (const w of weeks) {
    const g = byAttr("data-week", w.week, fig)[0];
    if (g) {
      const h = w.rate == null ? 0 : (50 * w.rate) / 100;
      const kept = q(g, ".trend-kept");
      kept.setAttribute("height", h.toFixed(2));
      kept.setAttribute("y", (52 - h).toFixed(2));
      show(q(g, ".trend-bg"), w.marked > 0);
      show(q(g, ".trend-none"), w.marked === 0);
    }
    const row = byAttr("data-week-row", w.week, fig)[0];
    if (row) {
      const cells = row.querySelectorAll("td");
      setText(cells[1], w.kept);
      setText(cells[2], w.missed);
      setText(cells[3], w.unmarked);
      setText(cells[4], w.rate == null ? "—" : `${w.rate}%`);
    }
  }
}

function fillCommitmentRow(row, item) {
  row.dataset.c = item.id;
  row.dataset.status = item.status;
  const link = q(row, "a.wording");
  link.href = links.commitment(item.id);
  setText(link, item.wording);
  const badge = q(row, ".c-status");
  badge.dataset.state = item.status;
  setText(badge, statusLabel(item.status));
  setText(q(row, ".schedule-text"), item.schedule_text);
  show(q(row, ".step-title"), !!item.step_title);
  setText(q(row, ".step-name"), item.step_title || "");
  const rates = q(row, ".rates");
  rates.dataset.ratesFor = item.id;
  fillRates(rates, item.rates);
}

function clone(id) {
  const tpl = document.getElementById(id);
  return tpl ? tpl.content.firstElementChild.cloneNode(true) : null;
}

function upsertDue(live, item) {
  const list = document.getElementById("due-list");
  if (!list) return;
  const mark = (live.state.commitment_marks || {})[`${item.id}:${item.today}`];
  let row = byAttr("data-due", item.id, list)[0];
  if (!(item.due_today || mark)) { if (row) row.remove(); return; }
  const mine = item.owner_id === live.me;
  if (!row) {
    row = clone(mine ? "tpl-due-mine" : "tpl-due-partner");
    if (!row) return;
    row.dataset.due = item.id;
    row.dataset.owner = item.owner_id;
    const form = q(row, "form");
    const uid = `due-${item.id}`;
    const input = q(form, 'input[name="note"]');
    const label = q(form, "label");
    input.id = (mine ? "note-" : "ack-") + uid;
    label.htmlFor = input.id;
    list.appendChild(row);
    wireForms(live, row);
  }
  setText(q(row, ".who"), nameOf(live, item.owner_id));
  const link = q(row, "a.wording");
  link.href = links.commitment(item.id);
  setText(link, item.wording);
  const form = q(row, "form");
  if (form.dataset.day !== item.today) {
    setAction(form, item.id, item.today, mine ? "mark" : "acknowledge");
    delete form.dataset.dirty;
  }
  fillMarkView(row, mark, live);
  if (mine) fillMarkForm(form, mark); else fillAckForm(form, mark);
}

export function setupIndex(live) {
  const refreshTrend = trendRefresher(live);
  const form = q(document, "form.new-commitment");
  if (form) {
    const tz = form.querySelector('input[name="tz"]');
    try { tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || tz.value; } catch (e) { /* keep UTC */ }
    form.querySelector('input[name="start"]').value = localToday();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = {
        wording: data.get("wording"), schedule: data.get("schedule"), tz: data.get("tz"),
        start: data.get("start"), end: data.get("end"), weekdays: data.getAll("weekdays").map(Number),
      };
      if (data.get("step")) body.step = Number(data.get("step"));
      const note = q(form, ".save-state");
      setText(note, "Saving…");
      const answer = await live.mutate(form.action, body);
      if (answer.ok) {
        setText(note, "Made. It is in your list.");
        live.announce("Commitment made.");
        forgetKept(live, form.querySelector("textarea"));
        form.querySelector("textarea").value = "";
      } else {
        setText(note, answer.error || "That did not save.");
        live.announce(answer.error || "That did not save.");
        const field = answer.field && form.querySelector(`[name="${CSS.escape(answer.field)}"]`);
        if (field) field.focus();
      }
    });
  }
  wireForms(live);

  live.on("commitments", (key, item, ev) => {
    if (!item) return;
    const list = byAttr("data-list-for", item.owner_id)[0];
    if (list) {
      let row = byAttr("data-c", item.id, list)[0];
      if (!row) { row = clone("tpl-commitment"); if (row) list.appendChild(row); }
      if (row) fillCommitmentRow(row, item);
    }
    upsertDue(live, item);
    if (ev.type === "commitments.ended" || ev.type === "commitments.paused" || ev.type === "commitments.resumed") refreshTrend(item.owner_id);
    announceEvent(live, ev, "commitments", item);
  });
  live.on("commitment_marks", (key, item, ev) => {
    if (!item) return;
    const c = (live.state.commitments || {})[item.commitment_id];
    if (c) upsertDue(live, c);
    refreshTrend(item.owner_id);
    announceEvent(live, ev, "commitment_marks", item);
  });
}

// ---------------------------------------------------------------- one commitment

function cellState(item, day, mark) {
  if (mark) return mark.status;
  if (day === item.today) return item.due_today ? "today" : "none";
  return null; // unchanged
}

export function setupDetail(live) {
  const article = q(document, "article.commitment");
  if (!article) return;
  const cid = Number(article.dataset.commitment);
  const mine = article.dataset.mine === "true";
  wireForms(live);
  const logEl = document.getElementById("mark-log");
  const log = logEl ? JSON.parse(logEl.textContent) : [];
  // What each day said before an event, to tell a first mark from a correction or a note.
  const known = {};
  for (const [key, m] of Object.entries(live.state.commitment_marks || {})) {
    if (m.commitment_id === cid) known[key] = { status: m.status, note: m.note };
  }

  // Times are to the second (and a note edit's is this browser's clock), so what arrives live is
  // ordered by arrival: an entry first seen after the page loaded goes above everything older.
  const arrived = new Map();
  let arrivals = 0;
  let loaded = false;
  const renderHistory = () => {
    const item = (live.state.commitments || {})[cid];
    if (!item) return;
    const entries = historyEntries(item, live.state.commitment_marks || {}, log);
    for (const e of entries) {
      const id = [e.kind, e.day, e.at, e.by, e.previous].join("|");
      if (!arrived.has(id)) arrived.set(id, loaded ? (arrivals += 1) : 0);
      e.seq = arrived.get(id);
    }
    loaded = true;
    entries.sort((a, b) => (b.seq - a.seq) || ((Date.parse(b.at) || 0) - (Date.parse(a.at) || 0)));
    q(article, "ol.history").replaceChildren(...entries.map((e) => historyLine(live, item, e)));
  };
  renderHistory();

  const renderCommitment = (item) => {
    setText(q(article, "h1.wording"), item.wording);
    const badge = q(article, ".c-status");
    badge.dataset.state = item.status;
    setText(badge, statusLabel(item.status));
    setText(q(article, ".schedule-text"), item.schedule_text);
    fillRates(q(article, ".rates"), item.rates);
    renderHistory();
    const todo = q(article, "ul.unmarked-list");
    todo.replaceChildren(...item.unmarked.slice().reverse().map((d) => {
      const li = document.createElement("li");
      li.dataset.day = d;
      const a = document.createElement("a");
      a.href = links.day(cid, d);
      a.textContent = dayText(d);
      li.append(a);
      return li;
    }));
    show(q(article, "section.todo"), item.unmarked.length > 0);
    const todayCell = byAttr("data-day", item.today, q(article, ".months"))[0];
    const todayMark = (live.state.commitment_marks || {})[`${cid}:${item.today}`];
    const st = cellState(item, item.today, todayMark);
    if (todayCell && st) todayCell.dataset.state = st;
    const controls = q(article, ".owner-controls");
    if (controls) {
      show(controls, item.status !== "ended");
      for (const f of qa(controls, ".status-form")) show(f, f.dataset.show.split(" ").includes(item.status));
      const reword = q(controls, "form.reword");
      if (reword && !reword.dataset.dirty) {
        reword.querySelector("textarea").value = item.wording;
        reword.querySelector('input[name="version"]').value = item.version;
      }
    }
  };

  const renderMark = (mark) => {
    const cell = byAttr("data-day", mark.day, q(article, ".months"))[0];
    if (cell) {
      cell.dataset.state = mark.status;
      if (mark.ack) cell.setAttribute("data-acked", ""); else cell.removeAttribute("data-acked");
      const target = cell.firstElementChild;
      // The same words as the server renders (short_date): the visible day number is in them.
      if (target) target.setAttribute("aria-label", `${dayText(mark.day)}: ${labels("commitment_days")[mark.status]}${mark.ack ? ", noticed" : ""}`);
    }
    const panel = q(document, "#day-panel");
    if (panel && panel.dataset.day === mark.day) {
      fillMarkView(panel, mark, live);
      if (mine) fillMarkForm(q(panel, "form.mark-form"), mark);
      else fillAckForm(q(panel, "form.ack-form"), mark);
    }
  };

  live.on("commitments", (key, item, ev) => {
    if (!item || item.id !== cid) return;
    renderCommitment(item);
    announceEvent(live, ev, "commitments", item);
  });
  live.on("commitment_marks", (key, item, ev) => {
    if (!item || item.commitment_id !== cid) return;
    const before = known[key];
    known[key] = { status: item.status, note: item.note };
    let entry = null;
    if (!before) entry = { kind: item.status, previous: null, at: item.marked_at };
    else if (before.status !== item.status) entry = { kind: item.status, previous: before.status, at: item.corrected_at };
    else if (before.note !== item.note) entry = { kind: "noted", previous: null, at: new Date().toISOString() };
    if (entry) log.unshift({ ...entry, day: item.day });
    renderMark(item);
    renderHistory();
    announceEvent(live, ev, "commitment_marks", item);
  });
}

// ---------------------------------------------------------------- the history, in words

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "Tue 3 Mar", as short_date in couple/commitments/schedule.py.
export function dayText(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return `${WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]} ${d} ${MONTHS[m - 1]}`;
}

// "Tue 3 Mar, 18:02" in the owner's time zone, as when_text in schedule.py.
export function whenText(at, tz) {
  if (!at) return "";
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-GB", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(at));
  } catch (e) {
    return "";
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${dayText(`${p.year}-${p.month}-${p.day}`)}, ${p.hour}:${p.minute}`;
}

// The twin of history_entries in couple/commitments/reading.py.
export function historyEntries(item, marks, log) {
  const out = item.history.map((h) => ({ kind: h.kind, at: h.at, day: h.day, by: item.owner_id, previous: h.previous, wording: h.wording }));
  for (const e of log) out.push({ kind: e.kind, at: e.at, day: e.day, by: item.owner_id, previous: e.previous, wording: null });
  const firstMarks = new Set(log.filter((e) => (e.kind === "kept" || e.kind === "missed") && !e.previous).map((e) => e.day));
  for (const m of Object.values(marks)) {
    if (m.commitment_id !== item.id) continue;
    // A mark made before the log existed: said from the mark itself, as far as it knows.
    if (!firstMarks.has(m.day)) out.push({ kind: m.corrected_at ? "marked" : m.status, at: m.marked_at, day: m.day, by: item.owner_id, previous: null, wording: null });
    if (m.ack) out.push({ kind: "noticed", at: m.ack.at, day: m.day, by: m.ack.by, previous: null, wording: null });
  }
  return out.sort((a, b) => (Date.parse(b.at) || 0) - (Date.parse(a.at) || 0));
}

function historyLine(live, item, e) {
  const li = document.createElement("li");
  li.dataset.kind = e.kind;
  const what = document.createElement("span");
  what.className = "h-what";
  const who = nameOf(live, e.by);
  const status = (value) => {
    const span = document.createElement("span");
    span.className = "mark-status";
    span.dataset.status = value;
    span.textContent = value;
    return span;
  };
  if (e.kind === "made") what.append(`${who} made it`);
  else if (e.kind === "reworded") what.append(`${who} reworded it: before “${e.previous}”; now “${e.wording}”`);
  else if (["paused", "resumed", "ended"].includes(e.kind)) what.append(`${who} ${e.kind} it`);
  else if (e.previous) what.append(`${who} corrected ${dayText(e.day)}: now `, status(e.kind), ` (was ${e.previous})`);
  else if (e.kind === "kept" || e.kind === "missed") what.append(`${who} marked ${dayText(e.day)} `, status(e.kind));
  else if (e.kind === "marked") what.append(`${who} marked ${dayText(e.day)} (corrected later)`);
  else if (e.kind === "noted") what.append(`${who} changed the note on ${dayText(e.day)}`);
  else if (e.kind === "noticed") what.append(`${who} noticed the mark on ${dayText(e.day)}`);
  const when = document.createElement("span");
  when.className = "h-when hint";
  when.textContent = `· ${whenText(e.at, item.tz)}`;
  li.append(what, " ", when);
  return li;
}
