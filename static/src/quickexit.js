// Quick exit: the visible control, or Esc twice within a second, leaves for a neutral page at
// once, and leaves nothing of the app behind it in this browser:
// - the page hides itself before anything else happens (a screen looked at mid-exit is blank);
// - signed in, it sends what was being typed (fields marked data-draft) with the exit request,
//   which keeps them on the server for this person only and ends this browser's session and its
//   sockets; the answer asks the browser to clear this site's cache and storage;
// - location.replace takes this page out of the history; Back then reaches only pages that the
//   server answers with the login page (every page is no-store), and a page the browser had
//   kept whole (the back/forward cache) hides itself when it is left and reloads when it is
//   shown again, so nothing is seen before the server has said who is signed in.
// It cannot erase the browser's history list itself; the footer and the safety page say so.
import { url } from "./config.js";

const EXIT_PATH_ATTR = "data-exit";
// fetch keepalive bodies share a 64 KiB budget in the browser; stay under it.
const KEEPALIVE_BUDGET = 60000;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Every field a person would miss: typed into (or holding a kept draft not saved yet).
export function unsentFields(root = document) {
  const out = {};
  for (const field of root.querySelectorAll("[data-draft]")) {
    const key = field.dataset.draft;
    const value = field.value || "";
    if (!key || !value.trim()) continue;
    if (value !== field.defaultValue || field.dataset.kept) out[key] = value;
  }
  return out;
}

// A field that held text kept by a quick exit has been saved by its own form: the server's copy
// goes (the person's own draft only; the key names nothing else), and the page's note with it.
export function forgetKept(live, field) {
  if (!field || !field.dataset.kept) return;
  delete field.dataset.kept;
  const note = field.getAttribute("aria-describedby") && document.getElementById(field.getAttribute("aria-describedby"));
  if (note) { note.remove(); field.removeAttribute("aria-describedby"); }
  live.mutate(url("draft_discard"), { key: field.dataset.draft });
}

function fitBudget(fields) {
  // Largest first out until the body fits: most of what was typed arrives rather than none.
  const entries = Object.entries(fields).sort((a, b) => a[1].length - b[1].length);
  const enc = new TextEncoder();
  while (entries.length && enc.encode(JSON.stringify({ drafts: Object.fromEntries(entries) })).length > KEEPALIVE_BUDGET) {
    entries.pop();
  }
  return Object.fromEntries(entries);
}

function sendExit(url) {
  const body = JSON.stringify({ drafts: fitBudget(unsentFields()) });
  try {
    fetch(url, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body,
    }).catch(() => {});
    return;
  } catch (e) { /* no keepalive fetch: a beacon instead */ }
  try {
    const form = new FormData();
    form.append("csrf_token", csrfToken());
    form.append("drafts", body);
    navigator.sendBeacon(url, form);
  } catch (e) { /* leaving matters more than anything sent */ }
}

function hideEverything() {
  document.documentElement.classList.add("leaving");
  if (document.body) document.body.hidden = true;
}

// A signed-out page (log in, sign up) reached again through the history or a reload: the
// browser may put back what was typed there (an email, a name), which would tell whoever
// presses Back after a quick exit whose account this is. Put the fields back as the server sent them.
function forgetTypedFieldsWhenSignedOut() {
  if (document.body && document.body.dataset.userId) return;
  const nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  if (!nav || (nav.type !== "back_forward" && nav.type !== "reload")) return;
  for (const field of document.querySelectorAll("input, textarea")) {
    if (field.type === "hidden" || field.type === "submit") continue;
    if (field.type === "checkbox" || field.type === "radio") field.checked = field.defaultChecked;
    else if (field.value !== field.defaultValue) field.value = field.defaultValue;
  }
}

export function installQuickExit() {
  // Chromium puts restored values back in a task after the document is parsed (after this
  // script), so the fields are reset again when the page is shown.
  forgetTypedFieldsWhenSignedOut();
  window.addEventListener("pageshow", forgetTypedFieldsWhenSignedOut);
  // A page restored whole from the back/forward cache may belong to a session that has ended
  // since: it was hidden when it was left (pagehide) and asks the server again now.
  window.addEventListener("pagehide", (event) => { if (event.persisted) hideEverything(); });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) { hideEverything(); window.location.reload(); }
  });
  const link = document.getElementById("quick-exit");
  if (!link) return;
  let left = false;
  const leave = (event) => {
    if (event) event.preventDefault();
    if (left) return;
    left = true;
    hideEverything();
    const exitUrl = link.getAttribute(EXIT_PATH_ATTR);
    if (exitUrl) sendExit(exitUrl);
    // Nothing of the page stays in this tab's storage; only the flag static/exitguard.js reads
    // (that this tab left), so a page shown again before the exit reached the server hides.
    try { sessionStorage.clear(); sessionStorage.setItem("couple.left", "1"); } catch (e) { /* storage off */ }
    window.location.replace(link.href);
  };
  link.addEventListener("click", leave);
  let lastEsc = 0;
  // Capture phase: a field or widget that stops Escape (a dialog, an editor) cannot keep a
  // person from leaving, and what was typed is sent before anything clears it.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const now = Date.now();
    if (now - lastEsc < 1000) leave(event);
    lastEsc = now;
  }, true);
}
