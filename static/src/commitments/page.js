// Commitments pages: the list (index) and one commitment (detail), kept live for both partners.
// Every user text enters the DOM through textContent or attributes; new rows are clones of the
// server-rendered <template>s, never HTML strings.
import { forgetKept } from "../quickexit.js";

const STATUS = { active: "Active", paused: "Paused", ended: "Ended" };
const KIND = { made: "Made", reworded: "Reworded", paused: "Paused", resumed: "Resumed", ended: "Ended" };
const CELL_WORDS = { kept: "kept", missed: "missed", unmarked: "not marked", today: "due today", upcoming: "due", none: "not due" };

function q(root, sel) { return root.querySelector(sel); }
function qa(root, sel) { return Array.from(root.querySelectorAll(sel)); }
function byAttr(attr, value, root = document) { return qa(root, `[${attr}="${CSS.escape(String(value))}"]`); }
function setText(el, text) { if (el) el.textContent = text == null ? "" : String(text); }
function show(el, visible) { if (el) el.hidden = !visible; }

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

export function fillRates(container, rates) {
  if (!container || !rates) return;
  for (const el of qa(container, "[data-rate]")) {
    const t = rates[el.dataset.rate];
    if (!t) continue;
    const total = t.counted || 1;
    const kept = (100 * t.kept) / total;
    const missed = (100 * t.missed) / total;
    q(el, ".bar-kept").setAttribute("width", kept.toFixed(2));
    const m = q(el, ".bar-missed");
    m.setAttribute("x", kept.toFixed(2));
    m.setAttribute("width", missed.toFixed(2));
    let text = "nothing due yet";
    if (t.counted) {
      text = `${t.rate}% · ${t.kept} of ${t.counted} kept`;
      if (t.missed) text += `, ${t.missed} missed`;
      if (t.unmarked) text += `, ${t.unmarked} not marked`;
    }
    setText(q(el, ".rate-text"), text);
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
  for (const b of qa(form, 'button[name="status"]')) {
    b.setAttribute("aria-pressed", mark && mark.status === b.value ? "true" : "false");
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
  form.action = `/commitments/${cid}/days/${day}/${verb}`;
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
    if (form.classList.contains("mark-form")) fillMarkForm(form, answer.result);
    if (form.classList.contains("reword")) form.querySelector('input[name="version"]').value = answer.result.version;
    live.announce(form.classList.contains("mark-form") ? `Marked ${answer.result.status}.` : "Saved.");
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
      const r = await fetch(`/commitments/trend/${personId}?weeks=${weeks}`, { headers: { Accept: "application/json" } });
      if (!r.ok) return;
      const data = await r.json();
      fillTrend(fig, data.weeks);
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
      show(q(g, ".trend-bg"), w.counted > 0);
      show(q(g, ".trend-none"), w.counted === 0);
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
  link.href = `/commitments/${item.id}`;
  setText(link, item.wording);
  const badge = q(row, ".c-status");
  badge.dataset.state = item.status;
  setText(badge, STATUS[item.status] || item.status);
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
  link.href = `/commitments/${item.id}`;
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

  const renderCommitment = (item) => {
    setText(q(article, "h1.wording"), item.wording);
    const badge = q(article, ".c-status");
    badge.dataset.state = item.status;
    setText(badge, STATUS[item.status] || item.status);
    setText(q(article, ".schedule-text"), item.schedule_text);
    fillRates(q(article, ".rates"), item.rates);
    const history = q(article, "ol.history");
    history.replaceChildren(...item.history.slice().reverse().map((h) => {
      const li = document.createElement("li");
      const kind = document.createElement("span");
      kind.className = "h-kind";
      kind.textContent = KIND[h.kind] || h.kind;
      li.append(kind, ` on ${h.day}`);
      if (h.kind === "reworded") li.append(`: before, “${h.previous}”; now “${h.wording}”`);
      return li;
    }));
    const todo = q(article, "ul.unmarked-list");
    todo.replaceChildren(...item.unmarked.slice().reverse().map((d) => {
      const li = document.createElement("li");
      li.dataset.day = d;
      const a = document.createElement("a");
      a.href = `/commitments/${cid}?day=${d}#day-panel`;
      a.textContent = d;
      li.append(a);
      return li;
    }));
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
      if (target) target.setAttribute("aria-label", `${mark.day}: ${CELL_WORDS[mark.status]}${mark.ack ? ", noticed" : ""}`);
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
    renderMark(item);
    announceEvent(live, ev, "commitment_marks", item);
  });
}
