// What a boundary is, read out of the couple's Y.Doc, and its content hash.
// The twin of couple/boundaries/content.py: the hash must match the server's byte for byte.
import { digest } from "lib0/hash/sha256";

export const GROUPS = ["communication", "behaviour", "privacy", "expectations", "other"];
export const MAX_TEXT = 2000;
export const MAX_BOUNDARIES = 300; // the page adds no more (the server keeps merges up to twice)
const HASH_VERSION = "v1";
const encoder = new TextEncoder();
const hashCache = new Map();

export function canonicalText(text) {
  // Only ASCII whitespace is trimmed (String.trim and Python's strip disagree on others).
  return text.replace(/\r\n/g, "\n").normalize("NFC").replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, "");
}

export function contentHash(text, category) {
  const payload = `${HASH_VERSION}\n${category}\n${canonicalText(text)}`;
  let hash = hashCache.get(payload);
  if (hash === undefined) {
    hash = Array.from(digest(encoder.encode(payload)), (b) => b.toString(16).padStart(2, "0")).join("");
    if (hashCache.size > 2000) hashCache.clear();
    hashCache.set(payload, hash);
  }
  return hash;
}

export function newBoundaryId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The boundaries in display order (group, order, id); items of the wrong shape are skipped,
// as the server does (it also refuses updates that would make them).
export function readBoundaries(array, Y) {
  const out = [];
  const seen = new Set();
  array.forEach((item, index) => {
    if (!(item instanceof Y.Map)) return;
    const id = item.get("id");
    const text = item.get("text");
    if (typeof id !== "string" || seen.has(id) || !(text instanceof Y.Text)) return;
    seen.add(id);
    let category = item.get("category");
    if (!GROUPS.includes(category)) category = "other";
    const order = typeof item.get("order") === "number" ? item.get("order") : 0;
    const wording = text.toString();
    out.push({ id, category, order, text: wording, ytext: text, map: item, index,
      createdBy: item.get("created_by"), hash: contentHash(wording, category) });
  });
  out.sort((a, b) => GROUPS.indexOf(a.category) - GROUPS.indexOf(b.category)
    || a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

// Who accepted the *current* wording, from the latest approvals (never a stored flag).
export function agreement(boundary, approvals, memberIds) {
  const by = [];
  const stale = [];
  for (const uid of memberIds) {
    const a = approvals[`${boundary.id}:${uid}`];
    if (!a) continue;
    (a.hash === boundary.hash ? by : stale).push(uid);
  }
  let state = "proposed";
  if (memberIds.length === 2 && by.length === 2) state = "agreed";
  else if (by.length) state = "accepted_by_one";
  return { state, by, stale };
}

// A position between two neighbours (fractional ordering: a move sets one number).
export function orderBetween(before, after) {
  if (before === null && after === null) return 1;
  if (before === null) return after - 1;
  if (after === null) return before + 1;
  return (before + after) / 2;
}
