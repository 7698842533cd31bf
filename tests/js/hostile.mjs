// A hostile partner's editor, written with the real Yjs, y-protocols and socket.io-client
// packages (what any modified browser can send), against a running server. Each case of
// issue 11 is crafted, sent, and its answer recorded; after each one the other partner's
// honest tab (static/src/boundaries/sync.js, unchanged) types again, and a fresh tab checks
// that the typing is there. Output (stdout, JSON): {cases: {name: {...}}, honest: {...}}.
//
// Input (argv[2], JSON): {urls: [attacker's server, victim's server], attacker: {cookie,
// userId}, victim: {cookie, userId}}.
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { io } from "socket.io-client";
import { Awareness, encodeAwarenessUpdate } from "y-protocols/awareness";
import { DocSync } from "../../static/src/boundaries/sync.js";
import { readBoundaries } from "../../static/src/boundaries/model.js";
import { textDiff } from "../../static/src/boundaries/binding.js";

const config = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const [attackerUrl, victimUrl] = config.urls;

async function until(check, what, ms = 60000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function socketFor(who, url) {
  return io(url, {
    transports: ["websocket"],
    extraHeaders: { Cookie: who.cookie, Origin: url },
    reconnection: false,
    forceNew: true,
  });
}

const tabs = [];
let localEdits = 0; // transactions made in honest tabs: each may add one row to the log, no more
function tab(who, url, { presence = false } = {}) {
  const socket = socketFor(who, url);
  const doc = new Y.Doc();
  const awareness = presence ? new Awareness(doc) : null;
  if (awareness) awareness.setLocalState({ boundary: null });
  const problems = [];
  const presenceFrom = [];
  socket.on("b:aw", (msg) => presenceFrom.push(msg.user));
  const sync = new DocSync(doc, socket, { awareness, onProblem: (ack) => problems.push(ack) });
  doc.on("update", (update, origin) => { if (origin !== sync) localEdits += 1; });
  const t = { who, url, socket, doc, sync, problems, awareness, presenceFrom, array: doc.getArray("boundaries") };
  tabs.push(t);
  return t;
}

const settled = (t) => until(() => t.socket.connected && t.sync.idle(), "a tab to settle");

function boundary(t, id) {
  return readBoundaries(t.array, Y).find((b) => b.id === id);
}

function textOf(t, id) {
  const b = boundary(t, id);
  return b ? b.text : null;
}

// Typing as the page does: through the textarea binding's diff (never splits a pair).
function typeAt(t, id, at, chars) {
  const b = boundary(t, id);
  const old = b.ytext.toString();
  const d = textDiff(old, old.slice(0, at) + chars + old.slice(at));
  t.doc.transact(() => {
    if (d.remove) b.ytext.delete(d.index, d.remove);
    if (d.insert) b.ytext.insert(d.index, d.insert);
  }, "local-edit");
}

function addBoundary(t, id, text, category = "communication") {
  t.doc.transact(() => {
    const m = new Y.Map();
    m.set("id", id);
    m.set("category", category);
    m.set("text", new Y.Text(text));
    m.set("created_by", t.who.userId);
    m.set("order", Math.random() * 10);
    t.array.push([m]);
  }, "local-edit");
}

function frame(update) {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  encoding.writeVarUint(enc, 2);
  encoding.writeVarUint8Array(enc, update);
  return encoding.toUint8Array(enc);
}

function send(t, message) {
  return new Promise((resolve) => {
    t.socket.timeout(20000).emit("b:y", message, (err, ack) => {
      // What the server took is the attacker's own from now on (it is not echoed back).
      if (!err && ack && ack.ok) {
        const d = decoding.createDecoder(message);
        if (decoding.readVarUint(d) === 0 && decoding.readVarUint(d) === 2) {
          Y.applyUpdate(t.doc, decoding.readVarUint8Array(d), t.sync);
        }
      }
      resolve(err ? { error: "timeout" } : ack);
    });
  });
}

// A copy of the attacker's document under its own client id: edits made on it are not sent
// by DocSync; the update they make is what the case sends, by hand.
function forger(t, clientID = t.doc.clientID) {
  const f = new Y.Doc();
  Y.applyUpdate(f, Y.encodeStateAsUpdate(t.doc));
  f.clientID = clientID; // after: Yjs renames a doc that receives structs of its own id
  return f;
}

function editOn(f, fn) {
  const sv = Y.encodeStateVector(f);
  f.transact(() => fn(f.getArray("boundaries")));
  return Y.encodeStateAsUpdate(f, sv);
}

// Structs written one by one with Yjs's own Item.write: for what the API will not make.
function craft(client, clock, items, deletes = []) {
  const encoder = new Y.UpdateEncoderV1();
  const rest = encoder.restEncoder;
  encoding.writeVarUint(rest, items.length ? 1 : 0);
  if (items.length) {
    encoding.writeVarUint(rest, items.length);
    encoding.writeVarUint(rest, client);
    encoding.writeVarUint(rest, clock);
    for (const item of items) item.write(encoder, 0);
  }
  const byClient = new Map();
  for (const [c, k, n] of deletes) byClient.set(c, [...(byClient.get(c) || []), [k, n]]);
  encoding.writeVarUint(rest, byClient.size);
  for (const [c, ranges] of byClient) {
    encoding.writeVarUint(rest, c);
    encoding.writeVarUint(rest, ranges.length);
    for (const [k, n] of ranges) { encoding.writeVarUint(rest, k); encoding.writeVarUint(rest, n); }
  }
  return encoder.toUint8Array();
}

function item(client, clock, { origin = null, right = null, parent = null, sub = null, content }) {
  return new Y.Item(Y.createID(client, clock), null, origin, null, right, parent, sub, content);
}

function itemIdOf(type) { return type._item.id; }

const cases = {};
let honestChecks = 0;

// After each case the victim types again; the server keeps it and a fresh tab sees it.
async function victimStillTypes(name, victim, id) {
  const marker = `[${name}-ok]`;
  const before = textOf(victim, id) || "";
  typeAt(victim, id, before.length, marker);
  await settled(victim);
  const fresh = tab(config.victim, victimUrl);
  await settled(fresh);
  await sleep(50);
  const seen = textOf(fresh, id);
  fresh.socket.disconnect();
  fresh.sync.destroy();
  honestChecks += 1;
  return {
    victimBroken: victim.sync.broken,
    victimProblems: victim.problems.filter((p) => p.code).map((p) => p.code),
    markerKept: seen !== null && seen.includes(marker),
    sameText: seen === textOf(victim, id),
  };
}

async function run() {
  const victim = tab(config.victim, victimUrl, { presence: true });
  const attacker = tab(config.attacker, attackerUrl, { presence: true });
  await settled(victim);
  await settled(attacker);
  addBoundary(victim, "victim-words", "We ask before sharing photos.");
  addBoundary(attacker, "attacker-own", "I will say when I need space.");
  await settled(victim);
  await settled(attacker);
  await until(() => textOf(attacker, "victim-words") !== null && textOf(victim, "attacker-own") !== null, "both boundaries everywhere");
  const vid = victim.doc.clientID;
  const aid = attacker.doc.clientID;
  const victimMap = boundary(attacker, "victim-words").map;
  const victimText = boundary(attacker, "victim-words").ytext;
  const attackerText = boundary(attacker, "attacker-own").ytext;

  // 1. a delete set over the victim tab's future clocks (and one over existing ones)
  {
    const next = Y.getState(attacker.doc.store, vid);
    const future = await send(attacker, frame(craft(aid, 0, [], [[vid, next, 5000]])));
    const straddling = await send(attacker, frame(craft(aid, 0, [], [[vid, next - 3, 50]])));
    cases.future_deletes = { future, straddling, ...(await victimStillTypes("c1", victim, "victim-words")) };
  }

  // 2. a pending item anchored after the victim's next clock, carrying an embed; and an
  //    embed that would integrate at once
  {
    const next = Y.getState(attacker.doc.store, vid);
    const clock = Y.getState(attacker.doc.store, aid);
    const pending = await send(attacker, frame(craft(aid, clock, [
      item(aid, clock, { origin: Y.createID(vid, next + 3), content: new Y.ContentEmbed({ image: "x" }) }),
    ])));
    const pendingText = await send(attacker, frame(craft(aid, clock, [
      item(aid, clock, { origin: Y.createID(vid, next + 3), content: new Y.ContentString("gotcha") }),
    ])));
    const f = forger(attacker);
    const embed = await send(attacker, frame(editOn(f, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "victim-words").ytext.insertEmbed(0, { image: "x" });
    })));
    cases.pending_embed = { pending, pendingText, embed, ...(await victimStillTypes("c2", victim, "victim-words")) };
  }

  // 3. a gap in the update's second client run
  {
    const gapClient = 7; // small: Yjs writes clients in descending id order, so this run is second
    const g = forger(attacker, gapClient);
    const sv = Y.encodeStateVector(g);
    const garr = g.getArray("boundaries");
    g.transact(() => readBoundaries(garr, Y).find((b) => b.id === "attacker-own").ytext.insert(0, "12345"));
    const mid = Y.encodeStateVector(g);
    g.transact(() => readBoundaries(garr, Y).find((b) => b.id === "attacker-own").ytext.insert(0, "67890"));
    const gap = Y.encodeStateAsUpdate(g, mid); // clocks 5.. of client 7: 0..4 never sent
    void sv;
    const f = forger(attacker);
    const legit = editOn(f, (arr) => readBoundaries(arr, Y).find((b) => b.id === "attacker-own").ytext.insert(0, "ok "));
    const merged = Y.mergeUpdates([legit, gap]);
    const order = Y.decodeUpdate(merged).structs.map((s) => s.id.client).filter((c, i, a) => a.indexOf(c) === i);
    const ack = await send(attacker, frame(merged));
    cases.gap_second_run = { ack, runOrder: order, gapClient, ...(await victimStillTypes("c3", victim, "victim-words")) };
  }

  // 4. hidden data: a 30 KB key on the root array, a 20 KB attribute on a Y.Text
  {
    const clock = Y.getState(attacker.doc.store, aid);
    const rootKey = await send(attacker, frame(craft(aid, clock, [
      item(aid, clock, { parent: "boundaries", sub: "hidden", content: new Y.ContentAny(["x".repeat(30000)]) }),
    ])));
    const f = forger(attacker);
    const textAttr = await send(attacker, frame(editOn(f, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "attacker-own").ytext.setAttribute("hidden", "y".repeat(20000));
    })));
    const f2 = forger(attacker);
    const mapKey = await send(attacker, frame(editOn(f2, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "attacker-own").map.set("hidden", "z".repeat(20000));
    })));
    cases.hidden_data = { rootKey, textAttr, mapKey, ...(await victimStillTypes("c4", victim, "victim-words")) };
  }

  // 5. a new boundary whose text holds an embed, formatting, a nested Y.Map
  {
    const variants = {
      embed: (t) => { t.insert(0, "hi"); t.insertEmbed(1, { image: "x" }); },
      format: (t) => { t.insert(0, "bold", { bold: true }); },
      nestedMap: (t) => { t.insert(0, "hi"); t.insertEmbed(1, new Y.Map()); },
      attribute: (t) => { t.insert(0, "hi"); t.setAttribute("k", "v"); },
    };
    const out = {};
    for (const [name, fill] of Object.entries(variants)) {
      const f = forger(attacker);
      out[name] = await send(attacker, frame(editOn(f, (arr) => {
        const m = new Y.Map();
        const text = new Y.Text();
        m.set("id", `new-${name}-x`);
        m.set("category", "other");
        m.set("text", text);
        m.set("created_by", config.attacker.userId);
        m.set("order", 1);
        arr.push([m]);
        fill(text);
      })));
    }
    cases.new_subtree = { ...out, ...(await victimStillTypes("c5", victim, "victim-words")) };
  }

  // 6. created_by = the partner's id + 0.5 (and the partner's id itself)
  {
    const out = {};
    for (const [name, by] of [["half", config.victim.userId + 0.5], ["partner", config.victim.userId], ["string", String(config.attacker.userId)]]) {
      const f = forger(attacker);
      out[name] = await send(attacker, frame(editOn(f, (arr) => {
        const m = new Y.Map();
        m.set("id", `by-${name}-xx`);
        m.set("category", "other");
        m.set("text", new Y.Text("mine"));
        m.set("created_by", by);
        m.set("order", 1);
        arr.push([m]);
      })));
    }
    cases.created_by = { ...out, ...(await victimStillTypes("c6", victim, "victim-words")) };
  }

  // 7. presence under the victim tab's client id; garbage presence; the attacker's own
  {
    const fromAttacker = () => victim.presenceFrom.filter((u) => u === config.attacker.userId).length;
    await until(() => fromAttacker() > 0, "the attacker's first presence");
    const before = fromAttacker();
    const spoof = new Awareness(new Y.Doc());
    spoof.clientID = vid; // what a modified page can claim
    spoof.setLocalState({ boundary: "victim-words" });
    spoof.doc.clientID = vid;
    const awFrame = (bytes) => {
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 1);
      encoding.writeVarUint8Array(enc, bytes);
      return encoding.toUint8Array(enc);
    };
    const claimVictim = await send(attacker, awFrame(encodeAwarenessUpdate(spoof, [vid])));
    const garbage = await send(attacker, awFrame(new Uint8Array([5, 1, 2, 3])));
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 1);
    encoding.writeVarUint(enc, aid);
    encoding.writeVarUint(enc, 99);
    encoding.writeVarString(enc, JSON.stringify({ boundary: "<img src=x onerror=alert(1)>", name: "Sam" }));
    const badState = await send(attacker, awFrame(encoding.toUint8Array(enc)));
    const own = new Awareness(new Y.Doc());
    own.clientID = aid;
    own.doc.clientID = aid;
    own.setLocalState({ boundary: "attacker-own" });
    const ownAck = await send(attacker, awFrame(encodeAwarenessUpdate(own, [aid])));
    await until(() => fromAttacker() > before, "the attacker's own presence");
    await sleep(200);
    const ownerOfVictim = victim.sync.owners.get(vid);
    cases.presence = {
      claimVictim, garbage, badState, own: ownAck,
      relayedFromAttacker: fromAttacker() - before,
      victimIdShownAs: ownerOfVictim === undefined ? null : ownerOfVictim,
      ...(await victimStillTypes("c7", victim, "victim-words")),
    };
  }

  // 8. inside a surrogate pair
  {
    typeAt(victim, "victim-words", 0, "a😀b ");
    await settled(victim);
    await until(() => (textOf(attacker, "victim-words") || "").startsWith("a😀b"), "the emoji at the attacker");
    const f = forger(attacker);
    const insertInside = await send(attacker, frame(editOn(f, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "victim-words").ytext.insert(2, "X");
    })));
    const f2 = forger(attacker);
    const deleteHalf = await send(attacker, frame(editOn(f2, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "victim-words").ytext.delete(1, 1);
    })));
    const f3 = forger(attacker);
    const deleteOtherHalf = await send(attacker, frame(editOn(f3, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "victim-words").ytext.delete(2, 1);
    })));
    const f4 = forger(attacker, 4242); // a client id of its own: this one is taken
    const deleteWhole = await send(attacker, frame(editOn(f4, (arr) => {
      readBoundaries(arr, Y).find((b) => b.id === "attacker-own").ytext.insert(0, "🎉");
    })));
    cases.surrogates = { insertInside, deleteHalf, deleteOtherHalf, wholeEmojiElsewhere: deleteWhole,
      ...(await victimStillTypes("c8", victim, "victim-words")),
      victimText: textOf(victim, "victim-words") };
  }

  // 9. an offline tab whose step 2 tips a boundary over 2,000 characters
  {
    addBoundary(victim, "long-one", "x".repeat(400));
    await settled(victim);
    const offline = tab(config.victim, victimUrl);
    await settled(offline);
    await until(() => textOf(offline, "long-one") !== null, "the offline tab has the boundary");
    offline.socket.disconnect();
    for (let i = 0; i < 15; i += 1) typeAt(offline, "long-one", 0, "o".repeat(100)); // 1,500 offline
    await until(() => textOf(attacker, "long-one") !== null, "the partner has the boundary");
    const pb = boundary(attacker, "long-one");
    for (let i = 0; i < 8; i += 1) {
      attacker.doc.transact(() => pb.ytext.insert(pb.ytext.length, "p".repeat(100)), "local-edit");
    }
    await settled(attacker);
    offline.socket.connect();
    await settled(offline);
    await until(() => (textOf(victim, "long-one") || "").length >= 2700, "the merge everywhere", 20000).catch(() => {});
    const fresh = tab(config.victim, victimUrl);
    await settled(fresh);
    cases.offline_over_limit = {
      offlineProblems: offline.problems.filter((p) => p.code).map((p) => p.code),
      offlineBroken: offline.sync.broken,
      mergedLength: (textOf(fresh, "long-one") || "").length,
      offlineKept: (textOf(fresh, "long-one") || "").split("o").length - 1,
      partnerKept: (textOf(fresh, "long-one") || "").split("p").length - 1,
      ...(await victimStillTypes("c9", victim, "victim-words")),
    };
    offline.socket.disconnect();
    fresh.socket.disconnect();
  }

  // 10. heavy deleting, then many reconnects: each step 2 carries the whole delete set
  {
    addBoundary(victim, "churn-one", "");
    await settled(victim);
    let updates = 0;
    for (let round = 0; round < 45; round += 1) {
      typeAt(victim, "churn-one", 0, "w".repeat(1800));
      updates += 1;
      const b = boundary(victim, "churn-one");
      victim.doc.transact(() => b.ytext.delete(0, b.ytext.length), "local-edit");
      updates += 1;
      await settled(victim);
    }
    const stepSizes = [];
    const acks = [];
    for (let i = 0; i < 12; i += 1) {
      victim.socket.disconnect();
      await sleep(20);
      victim.socket.connect();
      await settled(victim);
      const sv = Y.encodeStateVector(attacker.doc);
      stepSizes.push(Y.encodeStateAsUpdate(victim.doc, sv).length);
    }
    const started = Date.now();
    const fresh = tab(config.victim, victimUrl);
    await settled(fresh);
    const freshMs = Date.now() - started;
    cases.step2_growth = {
      updates, reconnects: 12,
      largestStep2: Math.max(...stepSizes),
      victimProblems: victim.problems.filter((p) => p.code).map((p) => p.code),
      freshProblems: fresh.problems.filter((p) => p.code).map((p) => p.code),
      freshSynced: fresh.sync.synced, freshMs,
      ...(await victimStillTypes("c10", victim, "victim-words")),
    };
    fresh.socket.disconnect();
  }

  const fresh = tab(config.victim, victimUrl);
  await settled(fresh);
  await sleep(100);
  const result = {
    cases,
    honestChecks,
    localEdits,
    final: readBoundaries(fresh.array, Y).map((b) => [b.id, b.category, b.order, b.text]),
    victimFinal: readBoundaries(victim.array, Y).map((b) => [b.id, b.category, b.order, b.text]),
    attackerFinal: readBoundaries(attacker.array, Y).map((b) => [b.id, b.category, b.order, b.text]),
  };
  void victimMap; void victimText; void attackerText; void itemIdOf;
  for (const t of tabs) { t.socket.disconnect(); t.sync.destroy(); }
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}

run().catch((error) => {
  for (const t of tabs) t.socket.disconnect();
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
