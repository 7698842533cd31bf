// The boundaries page: groups of boundaries rendered from the Y.Doc, each with its agreement
// state, presence, and the controls to accept, move and propose removal. User text only ever
// goes through .value / .textContent.
import * as Y from "yjs";
import { GROUPS, MAX_BOUNDARIES, MAX_TEXT, agreement, newBoundaryId, orderBetween, readBoundaries } from "./model.js";
import { bindTextarea } from "./binding.js";

const LOCAL = "local-edit";

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "hidden") node.hidden = Boolean(v);
    else node.setAttribute(k, v);
  }
  if (text !== null) node.textContent = text;
  return node;
}

export class BoundariesView {
  constructor({ root, doc, live, sync, awareness, config }) {
    this.root = root;
    this.doc = doc;
    this.array = doc.getArray("boundaries");
    this.live = live;
    this.sync = sync;
    this.awareness = awareness;
    this.labels = config.labels;
    this.names = config.names;
    this.me = config.me;
    this.members = Object.keys(config.names).map(Number);
    this.partner = this.members.find((id) => id !== this.me) ?? null;
    this.historyUrl = root.dataset.historyUrl;
    this.items = new Map(); // boundary id -> {li, unbind, ...}
    this.known = null; // ids seen at the last render, to announce partners' additions
    this.pending = false;
    this.build();
    this.array.observeDeep((events, txn) => this.changed(events, txn));
    awareness.on("change", () => this.schedule());
    this.render();
  }

  nameOf(uid) { return this.names[uid] || "A former partner"; }
  partnerName() { return this.partner !== null ? this.nameOf(this.partner) : "Your partner"; }

  build() {
    this.root.replaceChildren();
    this.lists = {};
    this.empties = {};
    for (const group of GROUPS) {
      const section = el("section", { class: "card b-group", "aria-labelledby": `g-${group}` });
      section.append(el("h2", { id: `g-${group}` }, this.labels[group]));
      const list = el("ul", { class: "b-list", "data-group": group });
      const empty = el("p", { class: "hint b-empty" }, "Nothing here yet.");
      const add = el("button", { type: "button", class: "secondary b-add" }, `Add a boundary to ${this.labels[group]}`);
      add.addEventListener("click", () => this.add(group));
      section.append(list, empty, add);
      this.lists[group] = list;
      this.empties[group] = empty;
      this.root.append(section);
    }
    this.removed = el("details", { class: "b-removed", hidden: true });
    this.removedSummary = el("summary");
    this.removedList = el("ul");
    this.removed.append(this.removedSummary, this.removedList);
    this.root.append(this.removed);
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  changed(events, txn) {
    if (txn.origin !== this.sync && txn.origin !== "server") { this.schedule(); return; }
    // Someone else's change: say so politely (never the wording itself).
    for (const event of events) {
      if (event.target === this.array) {
        for (const item of event.changes.added) {
          const content = item.content.getContent();
          for (const map of content) {
            if (map instanceof Y.Map && map.get("created_by") !== this.me) {
              this.live.announce(`${this.nameOf(map.get("created_by"))} added a boundary to ${this.labels[map.get("category")] || "Other"}.`);
            }
          }
        }
      } else if (event.target instanceof Y.Map && event.keysChanged.has("category")) {
        this.live.announce(`${this.partnerName()} moved a boundary to ${this.labels[event.target.get("category")] || "Other"}.`);
      }
    }
    this.schedule();
  }

  add(group) {
    if (readBoundaries(this.array, Y).length >= MAX_BOUNDARIES) {
      this.live.announce(`A list holds at most ${MAX_BOUNDARIES} boundaries: remove one first.`);
      return;
    }
    const list = readBoundaries(this.array, Y).filter((b) => b.category === group);
    const last = list.length ? list[list.length - 1].order : null;
    const id = newBoundaryId();
    this.doc.transact(() => {
      const map = new Y.Map();
      map.set("id", id);
      map.set("category", group);
      map.set("text", new Y.Text());
      map.set("created_by", this.me);
      map.set("order", orderBetween(last, null));
      this.array.push([map]);
    }, LOCAL);
    this.render();
    const item = this.items.get(id);
    if (item) item.textarea.focus();
  }

  move(b, category, order) {
    this.doc.transact(() => {
      if (category !== b.category) b.map.set("category", category);
      b.map.set("order", order);
    }, LOCAL);
  }

  moveBy(id, step) {
    const all = readBoundaries(this.array, Y);
    const b = all.find((x) => x.id === id);
    if (!b) return;
    const group = all.filter((x) => x.category === b.category);
    const at = group.findIndex((x) => x.id === id);
    const target = at + step;
    if (target < 0 || target >= group.length) return;
    const rest = group.filter((x) => x.id !== id);
    const before = target > 0 ? rest[target - 1].order : null;
    const after = target < rest.length ? rest[target].order : null;
    this.move(b, b.category, orderBetween(before, after));
    this.live.announce(step < 0 ? "Moved up." : "Moved down.");
  }

  moveTo(id, category) {
    const all = readBoundaries(this.array, Y);
    const b = all.find((x) => x.id === id);
    if (!b || b.category === category) return;
    const group = all.filter((x) => x.category === category);
    this.move(b, category, orderBetween(group.length ? group[group.length - 1].order : null, null));
    this.live.announce(`Moved to ${this.labels[category]}.`);
  }

  ask(event, body, item) {
    if (!this.live.connected || !this.sync.synced) {
      item.msg.textContent = "This needs a connection; try again when you are back online.";
      return;
    }
    item.msg.textContent = "";
    this.live.socket.timeout(15000).emit(event, { ...body, op_id: newBoundaryId() }, (err, ack) => {
      if (err || !ack) item.msg.textContent = "No answer from the server. Try again.";
      else if (ack.status === 409) item.msg.textContent = "The wording changed while you were reading it. Read it again, then accept.";
      else if (!ack.ok) item.msg.textContent = ack.error || "That did not work.";
    });
  }

  createItem(b) {
    const li = el("li", { class: "b-item", "data-id": b.id });
    const textId = `bt-${b.id}`;
    const label = el("label", { class: "visually-hidden", for: textId }, "Boundary");
    const textarea = el("textarea", { id: textId, class: "b-text", rows: "2", maxlength: String(MAX_TEXT), placeholder: "Write the boundary in your own words" });
    const presence = el("p", { class: "b-presence", hidden: true });
    const status = el("p", { class: "b-status" });
    const badge = el("span", { class: "b-badge" });
    const note = el("span", { class: "b-note" });
    status.append(badge, " ", note);
    const actions = el("div", { class: "b-actions" });
    const accept = el("button", { type: "button", class: "b-accept" });
    const groupLabel = el("label", { class: "b-group-pick" }, "Group ");
    const select = el("select");
    for (const group of GROUPS) select.append(el("option", { value: group }, this.labels[group]));
    groupLabel.append(select);
    const up = el("button", { type: "button", class: "secondary b-up" }, "Move up");
    const down = el("button", { type: "button", class: "secondary b-down" }, "Move down");
    const remove = el("button", { type: "button", class: "secondary b-remove" });
    const history = el("a", { class: "b-history", href: this.historyUrl.replace("BID", encodeURIComponent(b.id)) }, "History");
    actions.append(accept, groupLabel, up, down, remove, history);
    const msg = el("p", { class: "b-msg", role: "status" });
    li.append(label, textarea, presence, status, actions, msg);

    const item = { li, textarea, label, presence, badge, note, accept, select, up, down, remove, msg, ytext: b.ytext };
    item.unbind = bindTextarea(textarea, b.ytext, LOCAL);
    let settle = null;
    const settled = () => {
      clearTimeout(settle);
      settle = null;
      if (this.live.connected) this.live.socket.emit("b:settled", { id: b.id });
    };
    textarea.addEventListener("input", () => { clearTimeout(settle); settle = setTimeout(settled, 3000); });
    textarea.addEventListener("blur", () => { if (settle) settled(); });
    li.addEventListener("focusin", () => this.awareness.setLocalStateField("boundary", b.id));
    li.addEventListener("focusout", (event) => {
      if (!li.contains(event.relatedTarget)) this.awareness.setLocalStateField("boundary", null);
    });
    accept.addEventListener("click", () => {
      const current = readBoundaries(this.array, Y).find((x) => x.id === b.id);
      if (!current) return;
      if (accept.dataset.mine === "1") this.ask("b:unaccept", { id: b.id }, item);
      else this.ask("b:accept", { id: b.id, hash: current.hash }, item);
    });
    remove.addEventListener("click", () => {
      this.ask(remove.dataset.mine === "1" ? "b:keep" : "b:remove", { id: b.id }, item);
    });
    select.addEventListener("change", () => this.moveTo(b.id, select.value));
    up.addEventListener("click", () => this.moveBy(b.id, -1));
    down.addEventListener("click", () => this.moveBy(b.id, 1));
    return item;
  }

  updateItem(item, b, index, count) {
    const approvals = this.live.state.boundary_approvals || {};
    const removals = this.live.state.boundary_removals || {};
    const a = agreement(b, approvals, this.members);
    item.li.dataset.state = a.state;
    item.label.textContent = `Boundary in ${this.labels[b.category]}`;
    if (a.state === "agreed") item.badge.textContent = "Agreed by both";
    else if (a.state === "accepted_by_one") item.badge.textContent = `Accepted by ${this.nameOf(a.by[0])}`;
    else item.badge.textContent = "Proposed";
    item.badge.dataset.state = a.state;
    const notes = [];
    if (a.stale.length) {
      notes.push(`Changed since ${a.stale.map((u) => this.nameOf(u)).join(" and ")} accepted an earlier wording: it needs accepting again.`);
    }
    // Two offline copies can merge past the limit: nothing typed is thrown away; it shows here
    // until someone trims it (the server keeps it, and refuses only what no tab could type).
    const over = b.text.length - MAX_TEXT;
    item.li.dataset.over = over > 0 ? "1" : "0";
    if (over > 0) notes.push(`Over the limit by ${over.toLocaleString()} characters, please trim.`);
    const mineRemoval = Boolean(removals[`${b.id}:${this.me}`]);
    const theirRemoval = this.partner !== null && Boolean(removals[`${b.id}:${this.partner}`]);
    if (mineRemoval) notes.push("You proposed removing this; it goes when both of you agree.");
    if (theirRemoval) notes.push(`${this.partnerName()} proposed removing this.`);
    item.note.textContent = notes.join(" ");
    const mine = a.by.includes(this.me);
    item.accept.dataset.mine = mine ? "1" : "0";
    item.accept.textContent = mine ? "Take back my acceptance" : "Accept this wording";
    item.accept.disabled = !mine && b.text.trim() === "";
    item.remove.dataset.mine = mineRemoval ? "1" : "0";
    item.remove.textContent = mineRemoval ? "Keep it after all" : theirRemoval ? "Agree to remove" : "Propose removing";
    if (item.select.value !== b.category) item.select.value = b.category;
    item.up.disabled = index === 0;
    item.down.disabled = index === count - 1;
    item.up.hidden = item.down.hidden = count < 2;
    const here = [];
    for (const [client, state] of this.awareness.getStates()) {
      if (client === this.doc.clientID || !state || state.boundary !== b.id) continue;
      const owner = this.sync.owners.get(client);
      if (owner !== undefined && owner !== this.me) here.push(this.nameOf(owner));
    }
    const text = here.length ? `${[...new Set(here)].join(", ")} is here` : "";
    item.presence.hidden = !text;
    if (item.presence.textContent !== text) item.presence.textContent = text;
  }

  render() {
    const boundaries = readBoundaries(this.array, Y);
    const active = document.activeElement;
    const ids = new Set(boundaries.map((b) => b.id));
    for (const [id, item] of this.items) {
      if (ids.has(id)) continue;
      const hadFocus = item.li.contains(active);
      item.unbind();
      item.li.remove();
      this.items.delete(id);
      if (hadFocus) {
        (this.root.querySelector(".b-add") || this.root).focus();
        this.live.announce("The boundary you were in was removed.");
      }
    }
    let agreed = 0;
    for (const group of GROUPS) {
      const inGroup = boundaries.filter((b) => b.category === group);
      const list = this.lists[group];
      inGroup.forEach((b, index) => {
        let item = this.items.get(b.id);
        if (!item || item.ytext !== b.ytext) {
          if (item) { item.unbind(); item.li.remove(); }
          item = this.createItem(b);
          this.items.set(b.id, item);
        }
        if (list.children[index] !== item.li) {
          // Moving a node blurs it: put focus and caret back where they were.
          const focused = item.li.contains(active) ? active : null;
          const sel = focused && focused.tagName === "TEXTAREA" ? [focused.selectionStart, focused.selectionEnd] : null;
          list.insertBefore(item.li, list.children[index] || null);
          if (focused && document.activeElement !== focused) {
            focused.focus();
            if (sel) focused.setSelectionRange(sel[0], sel[1]);
          }
        }
        this.updateItem(item, b, index, inGroup.length);
        if (item.li.dataset.state === "agreed") agreed += 1;
      });
      this.empties[group].hidden = inGroup.length > 0;
    }
    const count = document.getElementById("b-count");
    if (count) {
      count.querySelector("[data-agreed]").textContent = String(agreed);
      count.querySelector("[data-total]").textContent = String(boundaries.length);
    }
    this.renderRemoved();
  }

  renderRemoved() {
    const removed = Object.values(this.live.state.boundaries_removed || {});
    this.removed.hidden = removed.length === 0;
    this.removedSummary.textContent = `Removed by both of you (${removed.length})`;
    this.removedList.replaceChildren(...removed.map((r) => {
      const li = el("li");
      li.append(el("span", {}, r.text || ""), " ");
      li.append(el("a", { href: this.historyUrl.replace("BID", encodeURIComponent(r.boundary_id)) }, "History"));
      return li;
    }));
  }
}
