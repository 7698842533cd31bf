// A textarea bound to a Y.Text: local typing becomes the smallest Yjs edit (common prefix and
// suffix kept), remote edits update the value while the caret stays where the person was
// typing (shifted by what was inserted or deleted before it).

// The single edit that turns `a` into `b`; never splits a UTF-16 surrogate pair.
export function textDiff(a, b) {
  let start = 0;
  const max = Math.min(a.length, b.length);
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start += 1;
  if (start > 0 && isHigh(a.charCodeAt(start - 1))) start -= 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA -= 1;
    endB -= 1;
  }
  if (endA < a.length && isLow(a.charCodeAt(endA))) { endA += 1; endB += 1; }
  return { index: start, remove: endA - start, insert: b.slice(start, endB) };
}

function isHigh(code) { return code >= 0xd800 && code <= 0xdbff; }
function isLow(code) { return code >= 0xdc00 && code <= 0xdfff; }

// Where a caret at `pos` ends up after a Yjs text delta. Text inserted exactly at the caret
// goes after it, so a partner typing at the same spot does not push the caret around.
export function shiftPosition(pos, delta) {
  let at = 0; // position in the text before the change
  let out = pos;
  for (const op of delta) {
    if (at >= pos) break;
    if (op.retain) at += op.retain;
    else if (op.insert) out += typeof op.insert === "string" ? op.insert.length : 1;
    else if (op.delete) {
      out -= Math.min(op.delete, pos - at);
      at += op.delete;
    }
  }
  return Math.max(0, out);
}

export function bindTextarea(el, ytext, origin) {
  let shown = ytext.toString();
  let composing = false;
  el.value = shown;

  const push = () => {
    const now = el.value;
    if (now === shown) return;
    const d = textDiff(shown, now);
    ytext.doc.transact(() => {
      if (d.remove) ytext.delete(d.index, d.remove);
      if (d.insert) ytext.insert(d.index, d.insert);
    }, origin);
    shown = now;
  };
  const pull = (delta) => {
    const focused = document.activeElement === el;
    const start = el.selectionStart;
    const end = el.selectionEnd;
    shown = ytext.toString();
    el.value = shown;
    if (focused && delta) el.setSelectionRange(shiftPosition(start, delta), shiftPosition(end, delta));
  };
  const onInput = () => { if (!composing) push(); };
  const onStart = () => { composing = true; };
  const onEnd = () => { composing = false; push(); if (el.value !== ytext.toString()) pull(null); };
  const observer = (event, txn) => {
    if (txn.origin === origin) return;
    if (composing) return; // applied at compositionend: rewriting the value would break the IME
    // "input" is handled synchronously, so what is on screen is what Yjs had before this change.
    pull(event.delta);
  };
  el.addEventListener("input", onInput);
  el.addEventListener("compositionstart", onStart);
  el.addEventListener("compositionend", onEnd);
  ytext.observe(observer);
  return () => {
    el.removeEventListener("input", onInput);
    el.removeEventListener("compositionstart", onStart);
    el.removeEventListener("compositionend", onEnd);
    ytext.unobserve(observer);
  };
}
