// Guide progress and reflections: the home page's two columns and the guide page's controls.
import { labels } from "./config.js";

// A step's state in words: the server's own labels (couple/guides/models.py STEP_STATE_LABELS).
function stateLabel(state) { return labels("step_states")[state] || state; }

function byData(attr, value) {
  return document.querySelectorAll(`[${attr}="${CSS.escape(value)}"]`);
}

function updateSummaries() {
  for (const el of document.querySelectorAll("[data-summary-for]")) {
    const person = el.dataset.summaryFor;
    const total = Number(el.dataset.total);
    const badges = document.querySelectorAll(`.steps[data-person="${CSS.escape(person)}"] .badge`);
    let working = 0;
    let practising = 0;
    for (const b of badges) {
      if (b.dataset.state === "working") working += 1;
      if (b.dataset.state === "practising") practising += 1;
    }
    el.textContent = `${practising} of ${total} practising · ${working} working on it`;
  }
}

function nameOf(live, userId) {
  const info = live.state.couple && live.state.couple.info;
  if (!info) return "Your partner";
  if (info.partner && info.partner.id === userId) return info.partner.name;
  return "You";
}

function stepTitle(key) {
  const badge = byData("data-progress-key", key)[0];
  const row = badge && badge.closest(".step-row");
  const title = row && row.querySelector(".step-title");
  return title ? title.textContent : "a step";
}

export function setupHome(live) {
  updateSummaries();
  live.on("progress", (key, item, ev) => {
    for (const badge of byData("data-progress-key", key)) {
      const state = item ? item.state : "not_started";
      badge.dataset.state = state;
      badge.textContent = stateLabel(state);
    }
    for (const cell of byData("data-strip-key", key)) cell.dataset.state = item ? item.state : "not_started";
    updateSummaries();
    if (item && ev.actor && ev.actor !== live.me) {
      live.announce(`${nameOf(live, item.user_id)} set “${stepTitle(key)}” to ${stateLabel(item.state).toLowerCase()}.`);
    }
  });
  live.on("shared_reflections", (key, item, ev) => {
    for (const box of byData("data-shared-key", key)) {
      box.hidden = !item;
      box.querySelector(".reflection-text").textContent = item ? item.text : "";
    }
    if (ev.actor && ev.actor !== live.me) {
      const who = item ? nameOf(live, item.user_id) : "Your partner";
      live.announce(item ? `${who} shared a reflection on “${stepTitle(key)}”.` : `${who} made a reflection private again.`);
    }
  });
}

export function setupGuide(live) {
  document.documentElement.classList.add("js");
  const guideEl = document.querySelector(".guide");
  if (!guideEl) return;
  const guide = guideEl.dataset.guide;

  for (const form of document.querySelectorAll("form.step-state")) {
    form.addEventListener("change", async (event) => {
      const input = event.target;
      if (input.name !== "state") return;
      const answer = await live.mutate(form.action, { state: input.value });
      if (!answer.ok) live.announce(answer.error || "That did not save.");
    });
  }

  for (const form of document.querySelectorAll("form.reflection")) {
    const textarea = form.querySelector("textarea");
    const version = form.querySelector('input[name="version"]');
    const note = form.querySelector(".save-state");
    textarea.addEventListener("input", () => { form.dataset.dirty = "1"; note.textContent = "Not saved yet"; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      note.textContent = "Saving…";
      const answer = await live.mutate(form.action, { text: textarea.value, version: Number(version.value) });
      if (answer.ok) {
        delete form.dataset.dirty;
        version.value = answer.result.version;
        note.textContent = "Saved";
        // A text kept by a quick exit is saved now: the server forgot its copy, and so does the page.
        delete textarea.dataset.kept;
        textarea.defaultValue = textarea.value;
        const kept = form.querySelector(".kept-draft");
        if (kept) { kept.remove(); textarea.removeAttribute("aria-describedby"); }
        const discard = document.getElementById(`discard-${form.dataset.step}`);
        if (discard) discard.remove();
      } else if (answer.status === 409) {
        note.textContent = "Changed elsewhere: the saved copy is below your text. Merge and save again.";
        if (answer.current) {
          version.value = answer.current.version;
          textarea.value = `${textarea.value}\n\n— saved copy —\n${answer.current.text}`;
        }
      } else {
        note.textContent = answer.error || "That did not save.";
      }
    });
  }

  for (const form of document.querySelectorAll("form.share")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const shared = form.querySelector('input[name="shared"]').value === "true";
      const answer = await live.mutate(form.action, { shared });
      if (!answer.ok) live.announce(answer.error || "That did not work.");
    });
  }

  live.on("progress", (key, item) => {
    if (!item) return;
    for (const input of byData("data-progress-input", key)) input.checked = input.value === item.state;
    // The step index's badge (another tab of yours may have changed the step).
    for (const badge of byData("data-progress-key", key)) {
      badge.dataset.state = item.state;
      badge.textContent = stateLabel(item.state);
    }
  });
  live.on("reflections", (key, item) => {
    if (!item || item.guide !== guide) return;
    const form = byData("data-reflection-key", key)[0];
    if (!form) return;
    const textarea = form.querySelector("textarea");
    // Never overwrite what the person is typing; the 409 on save tells them to merge.
    if (!form.dataset.dirty) {
      textarea.value = item.text;
      textarea.defaultValue = item.text; // saved: nothing for a quick exit to keep
      form.querySelector('input[name="version"]').value = item.version;
    }
    form.querySelector("[data-privacy]").textContent = item.shared ? "shared with your partner" : "private";
    const share = document.querySelector(`form.share[data-step="${item.step}"]`);
    if (share) {
      share.querySelector('input[name="shared"]').value = item.shared ? "false" : "true";
      share.querySelector("[data-share-button]").textContent = item.shared ? "Make private again" : "Share this reflection with your partner";
    }
  });
}
