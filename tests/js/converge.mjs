// Convergence with the real Yjs client: several Y.Docs, each behind its own socket.io-client
// connection (the session cookie of a real login, a matching Origin), drive thousands of
// random concurrent edits against a running server: typing, deleting, adding and moving
// boundaries, and dropping off the network to keep editing offline before reconnecting.
// At the end every client, and a freshly connected one, must hold the same content, and every
// character typed and not deleted must be there exactly once.
//
// Input (argv[2], JSON): {url, editors: [{cookie, userId}], fresh: {cookie, userId}, ops, seed}.
// Output (stdout, JSON): the run's size, the final content as each client sees it, the check.
import * as Y from "yjs";
import { io } from "socket.io-client";
import { DocSync } from "../../static/src/boundaries/sync.js";
import { GROUPS, readBoundaries } from "../../static/src/boundaries/model.js";
import { textDiff } from "../../static/src/boundaries/binding.js";

const config = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let seed = config.seed >>> 0;
function random() { // mulberry32: a seeded run can be repeated
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (n) => Math.floor(random() * n);

function connect(who, url = config.url) {
  const socket = io(url, {
    transports: ["websocket"],
    extraHeaders: { Cookie: who.cookie, Origin: url },
    reconnection: false,
    forceNew: true,
  });
  const doc = new Y.Doc();
  const problems = [];
  const sync = new DocSync(doc, socket, { onProblem: (ack) => problems.push(ack) });
  return { who, socket, doc, sync, problems, array: doc.getArray("boundaries") };
}

function content(doc) {
  return readBoundaries(doc.getArray("boundaries"), Y).map((b) => [b.id, b.category, b.order, b.text]);
}

async function until(check, what, ms = 120000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(25);
  }
  const states = (typeof editors === "undefined" ? [] : editors).map((e) => ({
    connected: e.socket.connected, active: e.socket.active, synced: e.sync.synced,
    inFlight: e.sync.inFlight, handshaking: e.sync.handshaking, broken: e.sync.broken,
    problems: e.problems.slice(-3) }));
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(states)}`);
}

// Each editor can connect to its own server (two processes over PostgreSQL + Redis).
const urlOf = (i) => (config.urls ? config.urls[i % config.urls.length] : config.url);
const editors = config.editors.map((who, i) => ({ ...connect(who, urlOf(i)), index: i, next: 0x4e00 + i * 5000,
  // Astral characters (two UTF-16 units each), unique per editor: emoji-like surrogate pairs.
  nextPair: 0x20000 + i * 20000 }));
const typed = new Set();
const deleted = new Set();
const size = { ops: 0, inserts: 0, deletes: 0, adds: 0, moves: 0, reconnects: 0, chars: 0, pairs: 0, pairDeletes: 0, editors: editors.length };
function isLow(code) { return code >= 0xdc00 && code <= 0xdfff; }

await until(() => editors.every((e) => e.sync.synced), "first sync");

function textsOf(e) {
  return readBoundaries(e.array, Y);
}

function step(e) {
  const boundaries = textsOf(e);
  const roll = random();
  if (roll < 0.05) { // drop off the network, or come back
    // Only from a settled state: connect() on a socket that is still connecting, or
    // disconnect() on one that is not connected yet, is not what a dropped network does.
    if (e.socket.connected) e.socket.disconnect();
    else if (!e.socket.active) e.socket.connect();
    else return;
    size.reconnects += 1;
    return;
  }
  if (boundaries.length === 0 || roll < 0.06) { // a new boundary, in someone's own name
    const m = new Y.Map();
    e.doc.transact(() => {
      m.set("id", `b${e.index}x${size.ops}x${int(1e9).toString(36)}`);
      m.set("category", pick(GROUPS));
      m.set("text", new Y.Text());
      m.set("created_by", e.who.userId);
      m.set("order", random() * 10);
      e.array.push([m]);
    });
    size.adds += 1;
    return;
  }
  const b = pick(boundaries);
  if (roll < 0.13) { // move: within or across groups, as the page does (same Y.Map)
    e.doc.transact(() => {
      if (random() < 0.5) b.map.set("category", pick(GROUPS));
      b.map.set("order", random() * 10);
    });
    size.moves += 1;
    return;
  }
  const len = b.ytext.length;
  if (roll < 0.22 && len > 0) {
    // Surrogate pairs: at a random UTF-16 offset (it may fall inside a pair), type an astral
    // character or delete a few units, the way the page does it: the textarea's new value goes
    // through the binding's diff, which never splits a pair (a caret cannot sit inside one).
    const old = b.ytext.toString();
    let at = int(old.length + 1);
    if (at > 0 && at < old.length && isLow(old.charCodeAt(at))) at -= 1;
    let now;
    if (random() < 0.5) {
      const ch = String.fromCodePoint(e.nextPair++);
      typed.add(ch);
      now = old.slice(0, at) + ch + old.slice(at);
      size.pairs += 1;
    } else {
      let end = Math.min(old.length, at + 1 + int(3));
      if (end < old.length && isLow(old.charCodeAt(end))) end += 1;
      if (end === at) return;
      for (const ch of old.slice(at, end)) deleted.add(ch);
      now = old.slice(0, at) + old.slice(end);
      size.pairDeletes += 1;
    }
    const d = textDiff(old, now);
    e.doc.transact(() => {
      if (d.remove) b.ytext.delete(d.index, d.remove);
      if (d.insert) b.ytext.insert(d.index, d.insert);
    });
    return;
  }
  if (roll < 0.35 && len > 0) { // delete a run of characters this client can see
    const old = b.ytext.toString();
    let at = int(len);
    if (at > 0 && isLow(old.charCodeAt(at))) at -= 1; // never start inside a pair
    let end = Math.min(at + 1 + int(4), len);
    if (end < len && isLow(old.charCodeAt(end))) end += 1; // nor end inside one
    for (const ch of old.slice(at, end)) deleted.add(ch);
    b.ytext.delete(at, end - at);
    size.deletes += 1;
    return;
  }
  if (b.ytext.length > 1500) return;
  let chars = "";
  for (let n = 1 + int(3); n > 0; n -= 1) chars += String.fromCharCode(e.next++);
  for (const ch of chars) typed.add(ch);
  const old = b.ytext.toString();
  let at = int(len + 1);
  if (at > 0 && at < len && isLow(old.charCodeAt(at))) at -= 1;
  b.ytext.insert(at, chars);
  size.inserts += 1;
  size.chars += chars.length;
}

const started = Date.now();
await Promise.all(editors.map(async (e) => {
  const mine = Math.floor(config.ops / editors.length);
  for (let i = 0; i < mine; i += 1) {
    step(e);
    size.ops += 1;
    // Let sockets breathe, unevenly, so edits from different clients interleave on the wire.
    if (random() < 0.5) await sleep(1 + int(3)); else await new Promise((r) => setImmediate(r));
  }
}));

for (const e of editors) if (!e.socket.connected && !e.socket.active) e.socket.connect();
await until(() => editors.every((e) => e.socket.connected && e.sync.idle()), "editors idle");
const same = () => {
  const first = JSON.stringify(content(editors[0].doc));
  return editors.every((e) => JSON.stringify(content(e.doc)) === first);
};
await until(same, "editors converged");

const fresh = connect(config.fresh, urlOf(1));
await until(() => fresh.sync.synced && fresh.sync.idle(), "fresh client synced");
await sleep(200);

const final = content(editors[0].doc);
const present = final.map((b) => b[3]).join("");
const expected = [...typed].filter((ch) => !deleted.has(ch));
const counts = new Map();
for (const ch of present) counts.set(ch, (counts.get(ch) || 0) + 1);
const missing = expected.filter((ch) => counts.get(ch) !== 1);
const extra = [...counts.keys()].filter((ch) => !typed.has(ch) || deleted.has(ch));

const result = {
  size: { ...size, boundaries: final.length, finalChars: present.length, seconds: (Date.now() - started) / 1000 },
  clients: editors.map((e) => content(e.doc)),
  fresh: content(fresh.doc),
  missing: missing.length,
  extra: extra.length,
  problems: [...editors, fresh].flatMap((e) => e.problems),
};
for (const e of [...editors, fresh]) { e.socket.disconnect(); e.sync.destroy(); }
// Exit only once the pipe has taken everything (stdout to a pipe is asynchronous).
process.stdout.write(JSON.stringify(result), () => process.exit(0));
