// The conversations page, live for both partners. The server renders every card (one source:
// templates/conversations/index.html); when a conversation changes, this asks the page again
// and swaps in the cards whose fingerprint changed, keeping whatever is being typed. Nothing is
// ever sent about reading, viewing or typing: only the changes a person sends.
import { url } from "../config.js";
import { forgetKept } from "../quickexit.js";

function qa(root, sel) { return Array.from(root.querySelectorAll(sel)); }

function fillTimeZone(root = document) {
  let tz = "UTC";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* UTC */ }
  for (const input of qa(root, "input.tz")) if (!input.dataset.touched) input.value = tz;
}

function wire(live, root = document) {
  for (const form of qa(root, "form.conv-action")) {
    if (form.dataset.wired) continue;
    form.dataset.wired = "1";
    for (const field of qa(form, "textarea, input[type=text], input[type=datetime-local]")) {
      field.addEventListener("input", () => {
        form.dataset.dirty = "1";
        if (field.classList.contains("tz")) field.dataset.touched = "1";
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(live, form, event.submitter);
    });
  }
}

async function send(live, form, submitter) {
  const note = form.querySelector(".save-state");
  const body = {};
  for (const [k, v] of new FormData(form).entries()) if (k !== "csrf_token") body[k] = v;
  if (submitter && submitter.name) body[submitter.name] = submitter.value;
  const buttons = qa(form, "button").filter((b) => !b.disabled);
  for (const b of buttons) b.disabled = true;
  if (note) note.textContent = "Sending…";
  const answer = await live.mutate(form.action, body);
  for (const b of buttons) b.disabled = false;
  if (answer.ok) {
    for (const field of qa(form, "[data-draft]")) {
      if (field.dataset.kept) forgetKept(live, field);
      field.value = "";
    }
    delete form.dataset.dirty;
    if (note) note.textContent = "Sent";
    live.announce("Sent.");
    const id = answer.result && answer.result.id;
    refresh(live, Number.isInteger(id) ? [id] : null);
  } else {
    const text = answer.error || "That was not sent. Try again.";
    if (note) { note.textContent = text; note.setAttribute("role", "alert"); }
    live.announce(text);
  }
}

// What someone is typing in a card, by field name and draft key: carried over into the new card.
function typed(card) {
  const out = {};
  for (const form of qa(card, "form[data-dirty]")) {
    for (const field of qa(form, "textarea, input[type=text], input[type=datetime-local]")) {
      out[`${form.getAttribute("action")}|${field.name}|${field.dataset.draft || ""}`] = field.value;
    }
  }
  return out;
}

function keep(card, values) {
  const left = { ...values };
  for (const form of qa(card, "form")) {
    for (const field of qa(form, "textarea, input[type=text], input[type=datetime-local]")) {
      const key = `${form.getAttribute("action")}|${field.name}|${field.dataset.draft || ""}`;
      if (key in values) { field.value = values[key]; form.dataset.dirty = "1"; delete left[key]; }
    }
  }
  // Typed into a step that is no longer there (the question was withdrawn, the round moved on):
  // never dropped; shown under the card, not sent, for the writer to copy.
  const text = Object.entries(left).filter(([key, v]) => v.trim() && !key.endsWith("|until|") && !key.endsWith("|tz|")).map(([, v]) => v).join("\n\n");
  if (!text) return;
  const box = document.createElement("div");
  box.className = "flash flash-info unsent";
  const id = `unsent-${card.dataset.conv}-${Date.now()}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = "Not sent: this conversation changed while you were writing. Your words are here to copy.";
  const area = document.createElement("textarea");
  area.id = id;
  area.readOnly = true;
  area.rows = 3;
  area.value = text;
  box.append(label, area);
  card.append(box);
}

// The most cards asked for by id at once (the server reads at most 100: operations.MAX_READ).
const MAX_CARDS = 20;
// What the next ask is for: the cards of these conversation ids, or (all) the whole page.
const wanted = new Set();
let wantAll = false;
let pending = null;
let again = false;

// Ask the server for the cards of `ids` (the conversations that changed), or with no ids for
// the whole page, and put them in place. The cards alone cost the same after years of
// conversations as on the first day; the whole page grows with every one ever had.
export function refresh(live, ids = null) {
  if (ids === null) wantAll = true;
  else for (const id of ids) wanted.add(String(id));
  if (pending) { again = true; return pending; }
  // Many at once (a long time offline): the whole page, one ask instead of a long address.
  const all = wantAll || wanted.size > MAX_CARDS;
  const some = [...wanted];
  wantAll = false;
  wanted.clear();
  if (!all && some.length === 0) return Promise.resolve();
  pending = (async () => {
    try {
      const params = new URLSearchParams(window.location.search);
      if (!all) for (const id of some) params.append("cards", id);
      const query = params.toString();
      const response = await fetch(url("conversations") + (query ? `?${query}` : ""), { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.redirected) return; // signed out: the socket's disconnect takes the page away
      if (!response.ok) { askLater(live, all, some); return; } // a restart's 503, a proxy's 502
      retryIn = FIRST_RETRY;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      // Not the conversations (the couple was unlinked meanwhile: the page reloads for that, or
      // keeps what is being typed and says so); no card is taken for gone.
      if (!fresh.getElementById("conv-open") || !fresh.getElementById("conv-closed")) return;
      if (all) {
        for (const id of ["conv-open", "conv-closed"]) swapList(live, document.getElementById(id), fresh.getElementById(id));
      } else {
        placeCards(live, fresh, some);
      }
      const hint = document.getElementById("cap-hint");
      const freshHint = fresh.getElementById("cap-hint");
      if (hint && freshHint && hint.textContent !== freshHint.textContent) hint.textContent = freshHint.textContent;
    } catch (e) {
      // Offline: the lists stay as drawn; these are asked for again a little later, and at once
      // when the socket is back.
      askLater(live, all, some);
    } finally {
      pending = null;
      if (again) { again = false; refresh(live, []); }
    }
  })();
  return pending;
}

// What was asked for and not answered is asked for again: later and later (up to 30 s), and
// at once when the page's socket connects again (setupConversations).
const FIRST_RETRY = 1000;
let retryIn = FIRST_RETRY;
let retryTimer = null;

function askLater(live, all, some) {
  if (all) wantAll = true;
  else for (const id of some) wanted.add(id);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => refresh(live, []), retryIn);
  retryIn = Math.min(retryIn * 2, 30000);
}

// A card drawn anew from the server's copy, keeping what is being typed in the old one, its
// unsent words, which details are open and where the focus was.
function redrawn(old, freshCard) {
  const card = document.importNode(freshCard, true);
  if (!old) return card;
  const values = typed(old);
  const focused = old.contains(document.activeElement) ? document.activeElement.id : null;
  for (const box of qa(old, ".unsent")) card.append(box);
  keep(card, values);
  for (const d of qa(old, "details[open]")) {
    const same = d.className && card.querySelector(`details.${CSS.escape(d.className.split(" ")[0])}`);
    if (same) same.open = true;
  }
  queueMicrotask(() => { if (focused) { const el = document.getElementById(focused); if (el) el.focus(); } });
  return card;
}

function cardOf(root, id) {
  return root.querySelector(`article[data-conv="${CSS.escape(String(id))}"]`);
}

// The cards asked for, each put in the list the server drew it in (open or closed), where the
// page would draw it: the lists run newest first. An id asked for and not answered is gone.
function placeCards(live, fresh, ids) {
  for (const id of ids) {
    const old = cardOf(document, id);
    const freshCard = cardOf(fresh, id);
    if (!freshCard) { if (old) old.remove(); continue; }
    const list = document.getElementById(freshCard.closest("#conv-closed") ? "conv-closed" : "conv-open");
    if (!list) continue;
    if (old && old.dataset.sig === freshCard.dataset.sig && old.parentElement === list) continue;
    const card = old && old.dataset.sig === freshCard.dataset.sig ? old : redrawn(old, freshCard);
    if (old && old !== card && old.parentElement === list) {
      old.replaceWith(card);
    } else {
      if (old && old !== card) old.remove();
      const after = qa(list, "article[data-conv]").find((a) => a !== card && Number(a.dataset.conv) < Number(id));
      list.insertBefore(card, after || null);
    }
    fillTimeZone(card);
    wire(live, card);
  }
}

function swapList(live, list, freshList) {
  if (!list || !freshList) return;
  const mine = new Map(qa(list, "article[data-conv]").map((a) => [a.dataset.conv, a]));
  const everywhere = new Map(qa(document, "article[data-conv]").map((a) => [a.dataset.conv, a]));
  const next = [];
  for (const freshCard of qa(freshList, "article[data-conv]")) {
    const old = everywhere.get(freshCard.dataset.conv);
    if (old && old.dataset.sig === freshCard.dataset.sig) { next.push(old); continue; }
    next.push(redrawn(old, freshCard));
  }
  for (const [, old] of mine) if (!next.includes(old)) old.remove();
  list.replaceChildren(...next);
  fillTimeZone(list);
  wire(live, list);
}

function announce(live, ev) {
  if (!ev || !ev.actor || ev.actor === live.me) return;
  const info = live.state.couple && live.state.couple.info;
  const who = info && info.partner && info.partner.id === ev.actor ? info.partner.name : "Your partner";
  // Said without the words: a shared screen or a screen reader nearby may be listening.
  const said = {
    "conversations.started": `${who} started a conversation.`,
    "conversations.answered": `${who} answered.`,
    "conversations.heard_back": `${who} said what they heard.`,
    "conversations.confirmed": `${who} confirmed: yes, that's it.`,
    "conversations.added": `${who} added what was missed.`,
    "conversations.round": `${who} started another round.`,
    "conversations.withdrawn": `${who} withdrew something they had written.`,
    "conversations.paused": `${who} asked for a break.`,
    "conversations.resumed": `${who} came back to a conversation.`,
    "conversations.closed": `${who} closed a conversation.`,
  }[ev.type];
  if (said) live.announce(said);
}

export function setupConversations(live) {
  fillTimeZone();
  wire(live);
  // One change may set several items: they are one refresh, asked at once (a refresh already on
  // its way is followed by one more, so the page never ends on an older copy).
  let queued = null;
  live.on("conversations", (key) => {
    if (queued) { queued.push(key); return; }
    queued = [key];
    queueMicrotask(() => { const ids = queued; queued = null; refresh(live, ids); });
  });
  live.onEvent((ev) => { if (ev && typeof ev.type === "string" && ev.type.startsWith("conversations.")) announce(live, ev); });
  // Back online: what could not be asked for meanwhile is asked for now.
  live.socket.on("connect", () => refresh(live, []));
  // For the end-to-end tests and the console: ask for these conversations' cards, or the page.
  window.coupleConversations = { refresh: (ids = null) => refresh(live, ids) };
}
