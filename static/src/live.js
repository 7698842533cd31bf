// The live connection of one tab: state, sequence numbers, sync, and the outbox of changes.
//
// The page starts from the JSON state the server rendered (#initial-state), with the last
// sequence number of each stream. Events arrive as "ev" ({stream, seq, type, data}); one that
// skips a number triggers a sync, which replays what was missed or answers "reset" (then the
// state is fetched again and the difference applied). The same sync runs on every (re)connect
// and every 25 s as a heartbeat, so a silent loss is noticed too.
import { io } from "socket.io-client";
import { takenOverSocket, url } from "./config.js";

const HEARTBEAT_MS = 25000;
// A note that must survive the reload a pairing change causes (sessionStorage: this tab only).
const NOTICE_KEY = "couple.notice";

export function applyEvent(state, data) {
  // The twin of couple/realtime.py apply_event: a state patch of whole items.
  for (const [collection, items] of Object.entries(data.set || {})) {
    state[collection] = state[collection] || {};
    Object.assign(state[collection], items);
  }
  for (const [collection, keys] of Object.entries(data.del || {})) {
    const bucket = state[collection] || {};
    for (const key of keys) delete bucket[key];
  }
}

function diff(oldState, newState) {
  // The patch that turns oldState into newState: a reset is applied like any event.
  const patch = { set: {}, del: {} };
  const names = new Set([...Object.keys(oldState), ...Object.keys(newState)]);
  for (const name of names) {
    const a = oldState[name] || {};
    const b = newState[name] || {};
    for (const [key, item] of Object.entries(b)) {
      if (JSON.stringify(a[key]) !== JSON.stringify(item)) (patch.set[name] ||= {})[key] = item;
    }
    for (const key of Object.keys(a)) if (!(key in b)) (patch.del[name] ||= []).push(key);
  }
  return patch;
}

// Set by the quick exit (quickexit.js) the moment it starts leaving.
function leaving() { return document.documentElement.classList.contains("leaving"); }

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function newOpId() {
  if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Live {
  constructor() {
    const el = document.getElementById("initial-state");
    const initial = el ? JSON.parse(el.textContent) : { seqs: { user: null, couple: null }, data: {} };
    this.state = initial.data;
    this.seqs = { ...initial.seqs };
    // undefined on pages rendered without a state (account, safety, pairing…): the first sync
    // answers "reset" and the fetched state is adopted as it is, never reloaded for.
    this.coupleId = el ? (initial.data.pairing && initial.data.pairing.status.couple_id) || null : undefined;
    this.me = Number(document.body.dataset.userId);
    this.renderers = {};
    this.listeners = [];
    this.outbox = 0;
    this.wakers = [];
    this.connected = false;
    this.syncing = false;
    this.socket = io({ transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
    this.socket.on("connect", () => { this.connected = true; this.status(); this.sync(); this.wakeRetries(); });
    this.socket.on("disconnect", (reason) => {
      this.connected = false;
      this.status();
      // The server closed us (logout, password change, account deletion): go to the login page,
      // unless a quick exit is already leaving (it ended this session itself: never come back),
      // or this page is already on its way somewhere (the very form that signed it out or
      // deleted the account: its answer says what happened, and must not be cancelled).
      if (reason === "io server disconnect" && !leaving() && !this.leaving()) window.location.assign(url("login"));
    });
    this.socket.on("connect_error", () => { this.connected = false; this.status(); });
    this.socket.on("ev", (ev) => this.receive(ev));
    window.addEventListener("online", () => {
      this.status();
      this.wakeRetries();
      // Back online: reconnect now rather than at the end of a back-off of up to 5 s.
      if (!this.socket.connected) { this.socket.disconnect(); this.socket.connect(); }
    });
    window.addEventListener("offline", () => this.status());
    // A page that is already navigating (a form posted, a link followed) must not reload itself:
    // a reload would cancel that navigation, e.g. the very "Accept" that caused the event.
    this.leavingAt = 0;
    window.addEventListener("beforeunload", () => { this.leavingAt = Date.now(); });
    document.addEventListener("submit", (event) => { if (!event.defaultPrevented) this.leavingAt = Date.now(); });
    setInterval(() => this.sync(), HEARTBEAT_MS);
    this.showStoredNotice();
  }

  // Page modules: on("progress", (key, item, ev) => ...) is called for each changed item
  // (item is null when it was removed); onEvent(fn) for every applied event.
  on(collection, fn) { (this.renderers[collection] ||= []).push(fn); }
  onEvent(fn) { this.listeners.push(fn); }

  receive(ev) {
    const last = this.seqs[ev.stream];
    if (last === null || last === undefined || ev.seq <= last) return;
    if (ev.seq > last + 1) { this.sync(); return; }
    this.seqs[ev.stream] = ev.seq;
    if (ev.data.reload) { this.reloadFor(ev); return; }
    this.apply(ev.data, ev);
  }

  apply(data, ev) {
    applyEvent(this.state, data);
    for (const [collection, items] of Object.entries(data.set || {})) {
      for (const [key, item] of Object.entries(items)) this.render(collection, key, item, ev);
    }
    for (const [collection, keys] of Object.entries(data.del || {})) {
      for (const key of keys) this.render(collection, key, null, ev);
    }
    for (const fn of this.listeners) fn(ev, this.state);
  }

  render(collection, key, item, ev) {
    for (const fn of this.renderers[collection] || []) fn(key, item, ev);
  }

  sync() {
    if (!this.connected || this.syncing) return;
    this.syncing = true;
    const ask = { user: this.seqs.user, couple: this.seqs.couple, couple_id: this.coupleId };
    this.socket.timeout(10000).emit("sync", ask, (err, answer) => {
      this.syncing = false;
      if (err || !answer || answer.error) return;
      let reset = false;
      for (const stream of ["user", "couple"]) {
        const part = answer[stream];
        if (!part) continue;
        if (part.reset) { reset = true; continue; }
        for (const ev of part.events || []) this.receive(ev);
      }
      if (reset) this.reset();
    });
  }

  async reset() {
    if (leaving()) return;
    let response;
    try {
      response = await fetch(url("state"), { headers: { Accept: "application/json" } });
    } catch (e) {
      return; // offline again: the next heartbeat asks again
    }
    if (response.status === 401 || response.redirected) { if (!leaving()) window.location.assign(url("login")); return; }
    if (!response.ok) return; // the next heartbeat asks again
    const fresh = await response.json();
    const freshCouple = fresh.data.pairing.status.couple_id || null;
    // The page was drawn for another couple (or none): only a reload redraws it whole.
    if (this.coupleId !== undefined && freshCouple !== this.coupleId) { window.location.reload(); return; }
    this.coupleId = freshCouple;
    const patch = diff(this.state, fresh.data);
    this.seqs = { ...fresh.seqs };
    this.apply(patch, { type: "reset", actor: null, stream: null });
  }

  status() {
    const el = document.getElementById("conn-status");
    if (!el) return;
    let state = "connected";
    let text = "Live";
    if (!navigator.onLine) { state = "offline"; text = "Offline"; }
    else if (!this.connected) { state = "reconnecting"; text = "Reconnecting…"; }
    if (this.outbox > 0 && state !== "connected") text += ` — ${this.outbox} change${this.outbox === 1 ? "" : "s"} not saved yet`;
    else if (this.outbox > 0) text = "Saving…";
    // Said aloud only when it changes after the first connection: not "Live" on every page load.
    const before = el.dataset.state;
    // Offline → reconnecting is the way back, not news: only a lost connection is said.
    if (before !== state && this.everConnected && !(state === "reconnecting" && before === "offline")) {
      this.announce({
        connected: "Back online.",
        reconnecting: "Connection lost. Trying to reconnect.",
        offline: "You are offline. Changes you make are sent when the connection is back, if this page stays open.",
      }[state]);
    }
    if (state === "connected") this.everConnected = true;
    el.dataset.state = state;
    if (el.textContent !== text) el.textContent = text;
  }

  // Send a change with a client op id: over the socket while it is connected, when the server
  // takes that change there (the `change` event, couple/socket_changes.py: answered after the
  // commit, no HTTP request), otherwise as a POST. Retried with the same op id until the server
  // answers, over whichever door is open, so a change made offline is applied once, when the
  // connection is back.
  async mutate(url, body) {
    const payload = { ...body, op_id: newOpId() };
    const path = new URL(url, window.location.href).pathname;
    const socketToo = takenOverSocket(path);
    this.outbox += 1;
    this.status();
    try {
      for (let attempt = 0; ; attempt += 1) {
        if (socketToo && this.connected && this.socket.connected) {
          const answer = await this.changeOverSocket(path, payload);
          if (answer === null || answer.retry) {
            // No answer in time (the connection dropped), or the server failed: try again.
            await this.pause(Math.min(1000 * 2 ** attempt, 10000));
            continue;
          }
          if (!answer.http) {
            const ok = answer.ok === true;
            return { ok, status: ok ? 200 : 400, ...answer };  // an error carries its own status
          }
          // The server sends this one back to HTTP: post it below.
        }
        let response;
        try {
          response = await fetch(url, {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
            body: JSON.stringify(payload),
            credentials: "same-origin",
          });
        } catch (networkError) {
          await this.pause(Math.min(1000 * 2 ** attempt, 10000));
          continue;
        }
        if (response.status >= 500 || response.status === 429) {
          await this.pause(Math.min(1000 * 2 ** attempt, 10000));
          continue;
        }
        const answer = await response.json().catch(() => ({ error: "Something went wrong." }));
        return { ok: response.ok, status: response.status, ...answer };
      }
    } finally {
      this.outbox -= 1;
      this.status();
    }
  }

  // One change over the socket: the server's answer, or null when none came within 10 s.
  changeOverSocket(path, body) {
    return new Promise((resolve) => {
      this.socket.timeout(10000).emit("change", { path, body }, (err, answer) => {
        resolve(err || !answer || typeof answer !== "object" ? null : answer);
      });
    });
  }

  // A pairing change reshapes the whole page: reload it, and say why once it is back. The person
  // who acted sees the server's own message; their partner sees who did what. Unsaved typing is
  // never thrown away: the page then stays, with the note and a button to refresh.
  reloadFor(ev) {
    if (leaving()) return;
    const partner = this.state.couple && this.state.couple.info && this.state.couple.info.partner;
    const who = partner && partner.id === ev.actor ? partner.name : "Your partner";
    let text = null;
    if (ev.actor !== this.me && ev.type === "pair.unlinked") {
      text = `${who} unlinked. Nothing new is shared between you from now on.`;
    } else if (ev.actor !== this.me && ev.type === "pair.linked") {
      text = "Your partner accepted: you are linked now.";
    }
    if (this.leaving()) {
      try { if (text) sessionStorage.setItem(NOTICE_KEY, text); } catch (e) { /* no note */ }
      return;
    }
    if (document.querySelector("form[data-dirty]")) {
      this.showNotice(`${text || "Something changed."} Save what you are writing, then refresh the page.`, true);
      return;
    }
    try { if (text) sessionStorage.setItem(NOTICE_KEY, text); } catch (e) { /* storage off: no note */ }
    window.location.reload();
  }

  // True for a few seconds after a form was submitted or the page began to unload.
  leaving() { return Date.now() - this.leavingAt < 10000; }

  showStoredNotice() {
    let text = null;
    try { text = sessionStorage.getItem(NOTICE_KEY); sessionStorage.removeItem(NOTICE_KEY); } catch (e) { return; }
    if (text) this.showNotice(text, false);
  }

  showNotice(text, offerRefresh) {
    const main = document.getElementById("main");
    if (!main) return;
    for (const old of main.querySelectorAll(".notice")) if (old.firstChild.textContent === text) return;
    const box = document.createElement("div");
    box.className = "flash flash-info notice";
    const p = document.createElement("p");
    p.textContent = text;
    box.append(p);
    if (offerRefresh) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = "Refresh the page";
      button.addEventListener("click", () => window.location.reload());
      box.append(button);
    }
    main.prepend(box);
    this.announce(text);
  }

  // A retry waits its back-off, or less: coming back online (or reconnecting) wakes it at once.
  pause(ms) {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers = this.wakers.filter((w) => w !== wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.push(wake);
    });
  }

  wakeRetries() { for (const wake of [...this.wakers]) wake(); }

  announce(text) {
    const el = document.getElementById("announcer");
    if (!el || !text) return;
    // Messages that come together (the catch-up after a reconnect) are said together, none
    // cutting off the one before; a long burst is summed up rather than read out in full.
    this.spoken ||= [];
    this.spoken.push(text);
    if (this.spoken.length > 1) return;
    el.textContent = "";
    // A separate task, so screen readers notice the change even when the text repeats.
    setTimeout(() => {
      const all = this.spoken;
      this.spoken = [];
      el.textContent = all.length <= 3 ? all.join(" ") : `${all.slice(0, 2).join(" ")} And ${all.length - 2} more changes.`;
    }, 100);
  }
}
