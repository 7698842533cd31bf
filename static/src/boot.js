// Every signed-in page's one start (static/src/pages/*.js call it): the header's tab row, the
// quick exit, the tab's live connection, and the page's own module, each set up once. Signed-out
// pages load pages/exit.js instead: the quick exit alone, no socket.
import { Live } from "./live.js";
import { installQuickExit } from "./quickexit.js";

// modules: { <body data-page>: setup(live) }; the page's entry, if any, runs once the
// connection exists. Returns the Live, for an entry that does more itself.
export function boot(modules = {}) {
  revealCurrentTab();
  installQuickExit();
  const live = new Live();
  window.coupleLive = live; // for the end-to-end tests and the browser console
  const setup = modules[document.body.dataset.page];
  if (setup) setup(live);
  return live;
}

// On a narrow phone the tab row scrolls sideways; show the current page's tab, not only the first.
function revealCurrentTab() {
  const row = document.querySelector(".tabs ul");
  const current = row && row.querySelector('[aria-current="page"]');
  if (!current || row.scrollWidth <= row.clientWidth) return;
  const li = current.parentElement;
  row.scrollLeft = Math.max(0, li.offsetLeft - row.offsetLeft - (row.clientWidth - li.offsetWidth) / 2);
}
