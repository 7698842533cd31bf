// The textarea binding's pure parts against real Yjs: a diff applied as Yjs edits gives the
// new text (surrogate pairs intact), and a caret shifted by a remote delta stays on the same
// character. Run by tests/boundaries/test_boundaries_js.py.
import * as Y from "yjs";
import { textDiff, shiftPosition } from "../../static/src/boundaries/binding.js";
import { contentHash, canonicalText } from "../../static/src/boundaries/model.js";

let seed = 7;
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const alphabet = ["a", "b", " ", "\n", "é", "😀", "e\u0301"];
const word = (n) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
let checks = 0;

for (let i = 0; i < 3000; i += 1) {
  const a = word(Math.floor(random() * 12));
  const b = word(Math.floor(random() * 12));
  const doc = new Y.Doc();
  const t = doc.getText("t");
  t.insert(0, a);
  const d = textDiff(a, b);
  doc.transact(() => { if (d.remove) t.delete(d.index, d.remove); if (d.insert) t.insert(d.index, d.insert); });
  if (t.toString() !== b) throw new Error(`diff ${JSON.stringify([a, b, d])} gave ${JSON.stringify(t.toString())}`);
  checks += 1;

  // A caret before a marker character stays before it whatever a remote edit does.
  const base = word(6) + "|" + word(6);
  const doc2 = new Y.Doc();
  const t2 = doc2.getText("t");
  t2.insert(0, base);
  const caret = base.indexOf("|");
  let delta = null;
  t2.observe((event) => { delta = event.delta; });
  const at = Math.floor(random() * (base.length + 1));
  if (random() < 0.5 || at === caret) {
    t2.insert(at, "XY");
  } else {
    const from = at < caret ? at : at;
    const n = at < caret ? Math.min(2, caret - at) : Math.min(2, base.length - at);
    if (n > 0) t2.delete(from, n); else t2.insert(at, "Z");
  }
  const moved = shiftPosition(caret, delta);
  // Text inserted exactly at the caret goes after it: the caret then stays put.
  const expected = t2.toString().indexOf(at === caret ? "XY|" : "|");
  if (moved !== expected) throw new Error(`caret ${JSON.stringify([base, at, delta, moved, t2.toString()])}`);
  checks += 1;
}

// The hash is the server's (couple/boundaries/content.py): fixed vectors, computed there.
const vectors = JSON.parse(process.argv[2] || "[]");
for (const [text, category, hash] of vectors) {
  if (contentHash(text, category) !== hash) throw new Error(`hash of ${JSON.stringify(text)} differs`);
  checks += 1;
}
if (canonicalText("  e\u0301\r\n ") !== "\u00e9") throw new Error("canonical text");
process.stdout.write(JSON.stringify({ checks }));
