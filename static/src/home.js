// Home's "What now" card, kept live: any change that could alter it (a mark, a commitment, guide
// progress, an acceptance, the partner typing in the boundaries editor) refreshes it from
// /api/now, at most every 400 ms. The twin of the card in templates/core/home.html; user text
// only ever goes through textContent.
import { url } from "./config.js";

const REFRESH_MS = 400;
const WATCHED = new Set(["progress", "commitments", "commitment_marks", "boundary_approvals",
  "boundary_removals", "boundaries_removed"]);

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function row(card, name) { return card.querySelector(`[data-now="${name}"]`); }
function show(node, visible) { if (node) node.hidden = !visible; }
function setN(node, n) { const span = node && node.querySelector(".n"); if (span) span.textContent = String(n); }

export function renderNow(card, now, partnerName) {
  const due = row(card, "due");
  if (due && now.due) {
    due.querySelector(".now-items").replaceChildren(...now.due.items.map((c) => {
      const li = el("li");
      li.append(el("a", { href: url("commitment_day", { commitment_id: c.id, day: c.day }) }, c.wording));
      return li;
    }));
    show(due.querySelector(".now-how"), now.due.items.length > 0);
    const empty = due.querySelector(".now-empty");
    show(empty, now.due.items.length === 0);
    if (now.due.done) empty.textContent = "Done for today: you marked everything that was due.";
    else if (now.due.any) empty.textContent = "Nothing of yours is due today.";
    const earlier = due.querySelector(".now-earlier");
    show(earlier, now.due.earlier > 0);
    setN(earlier, now.due.earlier);
  }
  const waiting = row(card, "waiting");
  if (waiting && now.waiting) {
    const w = now.waiting;
    waiting.querySelector(".now-items").replaceChildren(...w.items.map((b) => {
      const li = el("li");
      li.append(el("span", { class: "b-text" }, b.text));
      if (b.partner_accepted) li.append(" ", el("span", { class: "hint" }, `(${partnerName} accepted)`));
      return li;
    }));
    const more = waiting.querySelector(".now-more");
    show(more, w.count > w.items.length);
    setN(more, w.count - w.items.length);
    const removals = waiting.querySelector(".now-removals");
    show(removals, w.removals > 0);
    removals.textContent = `${partnerName} proposed removing ${w.removals} boundar${w.removals === 1 ? "y" : "ies"}.`;
    const empty = waiting.querySelector(".now-empty");
    show(empty, !w.count && !w.removals);
    empty.textContent = w.total ? "Nothing: you accepted the current wording of every boundary."
      : "No boundaries yet. You can write the first one together.";
    waiting.querySelector(".now-go").textContent = w.count ? "Read and accept them on Boundaries" : "Open Boundaries";
  }
  const next = row(card, "next");
  if (next) {
    const n = now.next;
    const step = next.querySelector(".now-step");
    show(step, !!(n && n.number));
    show(next.querySelector(".now-empty"), !!(n && !n.number));
    show(next.querySelector(".now-noguide"), !n);
    if (n && n.number) {
      step.querySelector("a").href = url("guide_step", { step: n.number });
      setN(step, n.number);
      step.querySelector(".t").textContent = n.title;
      step.querySelector(".l").textContent = n.label;
    }
  }
}

export function setupNow(live) {
  const card = document.querySelector("section.now[data-now-url]");
  if (!card) return;
  const url = card.dataset.nowUrl;
  let timer = null;
  let running = false;
  let again = false;
  const partnerName = () => {
    const info = live.state.couple && live.state.couple.info;
    return (info && info.partner && info.partner.name) || "Your partner";
  };
  const refresh = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (r.ok) renderNow(card, await r.json(), partnerName());
    } catch (e) {
      // Offline: the next change (or the reconnect's sync) asks again.
    } finally {
      running = false;
      if (again) { again = false; schedule(); }
    }
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(refresh, REFRESH_MS); };
  live.onEvent((ev, _state) => {
    const data = ev && ev.data ? ev.data : null;
    if (ev && ev.type === "reset") { schedule(); return; }
    const touched = data ? [...Object.keys(data.set || {}), ...Object.keys(data.del || {})] : [];
    if (touched.some((c) => WATCHED.has(c)) || touched.length === 0) schedule();
  });
  // The boundaries' words travel as Yjs updates, not as events: a wording change by the partner
  // (which dismisses an acceptance) reaches Home this way.
  live.socket.on("b:y", schedule);
  // Back from another tab after midnight: "today" may have moved on.
  document.addEventListener("visibilitychange", () => { if (!document.hidden) schedule(); });
  window.coupleNow = { refresh, card };
}
