// Keystroke to partner: tab A types one character (the real Yjs + sync.js), tab B sees it.
// Input (argv[2], JSON): {url, a: {cookie, userId}, b: {cookie, userId}, n}. Output: JSON.
import * as Y from "yjs";
import { io } from "socket.io-client";
import { DocSync } from "../static/src/boundaries/sync.js";
import { readBoundaries } from "../static/src/boundaries/model.js";

const config = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(check, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) { if (check()) return; await sleep(2); }
  throw new Error("timed out");
}
function tab(who) {
  const socket = io(config.url, { transports: ["websocket"], extraHeaders: { Cookie: who.cookie, Origin: config.url }, reconnection: false, forceNew: true });
  const doc = new Y.Doc();
  const sync = new DocSync(doc, socket, {});
  return { who, socket, doc, sync, array: doc.getArray("boundaries") };
}
const a = tab(config.a);
const b = tab(config.b);
await until(() => a.sync.idle() && b.sync.idle());
a.doc.transact(() => {
  const m = new Y.Map();
  m.set("id", "latency-bench"); m.set("category", "other"); m.set("text", new Y.Text());
  m.set("created_by", config.a.userId); m.set("order", 1);
  a.array.push([m]);
}, "local-edit");
await until(() => readBoundaries(b.array, Y).length === 1);
const ta = readBoundaries(a.array, Y)[0].ytext;
const tb = readBoundaries(b.array, Y)[0].ytext;
let waiting = null;
tb.observe(() => { if (waiting && tb.length >= waiting.len) { const w = waiting; waiting = null; w.resolve(performance.now()); } });
const latencies = [];
for (let i = 0; i < config.n; i += 1) {
  if (ta.length > 1500) { a.doc.transact(() => ta.delete(0, ta.length), "local-edit"); await until(() => tb.length === 0); }
  const seen = new Promise((resolve) => { waiting = { len: ta.length + 1, resolve }; });
  const started = performance.now();
  a.doc.transact(() => ta.insert(ta.length, String.fromCharCode(97 + (i % 26))), "local-edit");
  const at = await Promise.race([seen, sleep(5000).then(() => null)]);
  if (at !== null) latencies.push(at - started);
  await sleep(20 + (i % 7) * 5); // typing pace
}
// A step 1 round trip (what every (re)connect starts with), for comparison.
const step1 = [];
for (let i = 0; i < 30; i += 1) {
  const started = performance.now();
  await new Promise((resolve) => { a.socket.emit("b:y", new Uint8Array([0, 0, 1, 0]), () => resolve()); });
  step1.push(performance.now() - started);
  await sleep(20);
}
const q = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const out = { n: latencies.length, p50: q(latencies, 0.5), p90: q(latencies, 0.9), p99: q(latencies, 0.99), max: Math.max(...latencies), step1AckP50: q(step1, 0.5) };
for (const t of [a, b]) { t.socket.disconnect(); t.sync.destroy(); }
process.stdout.write(JSON.stringify(out), () => process.exit(0));
