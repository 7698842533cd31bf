// The boundaries page: the couple's Y.Doc, synced over the tab's one Socket.IO connection.
import * as Y from "yjs";
import { Awareness, removeAwarenessStates } from "y-protocols/awareness";
import "../boundaries/boundaries.css";
import { boot } from "../boot.js";
import { DocSync } from "../boundaries/sync.js";
import { BoundariesView } from "../boundaries/view.js";

const live = boot();

const configEl = document.getElementById("boundaries-doc");
const root = document.getElementById("b-root");
if (configEl && root) {
  document.documentElement.classList.add("js");
  const config = JSON.parse(configEl.textContent);
  const doc = new Y.Doc();
  // Start from the copy the page was rendered with; the socket's sync brings what is newer.
  const initial = Uint8Array.from(atob(config.update), (c) => c.charCodeAt(0));
  if (initial.length) Y.applyUpdate(doc, initial, "initial");
  const awareness = new Awareness(doc);
  awareness.setLocalState({ boundary: null });
  const problem = document.getElementById("b-problem");
  const sync = new DocSync(doc, live.socket, {
    awareness,
    onSynced: () => { if (!sync.broken) problem.hidden = true; },
    onProblem: (ack) => {
      if (ack.code === "doc_full") {
        problem.replaceChildren(`${ack.error} What you typed stays on this page and is saved once there is room.`);
        problem.hidden = false;
        return;
      }
      if (!sync.broken) return; // lost or failed: resent by the next handshake
      problem.replaceChildren();
      problem.append(`This change could not be saved: ${ack.error || "refused"} `);
      const reload = document.createElement("button");
      reload.type = "button";
      reload.textContent = "Reload the saved list";
      reload.addEventListener("click", () => window.location.reload());
      problem.append(reload);
      problem.hidden = false;
    },
  });
  const view = new BoundariesView({ root, doc, live, sync, awareness, config });
  for (const collection of ["boundary_approvals", "boundary_removals", "boundaries_removed"]) {
    live.on(collection, () => view.schedule());
  }
  // Once per event, never with the wording: a shared screen may be listening too.
  live.onEvent((ev) => {
    if (!ev || !ev.actor || ev.actor === live.me) return;
    const who = view.nameOf(ev.actor);
    const messages = {
      "boundary.accepted": `${who} accepted a boundary.`,
      "boundary.unaccepted": `${who} took back an acceptance.`,
      "boundary.removal_proposed": `${who} proposed removing a boundary.`,
      "boundary.removal_withdrawn": `${who} withdrew a removal proposal.`,
      "boundary.removed": "A boundary was removed: both of you agreed.",
    };
    if (messages[ev.type]) live.announce(messages[ev.type]);
  });
  window.addEventListener("pagehide", () => removeAwarenessStates(awareness, [doc.clientID], "local"));
  window.coupleBoundaries = { doc, sync, view };
}
