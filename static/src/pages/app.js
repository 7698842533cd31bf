// Every signed-in page that is not a capability of its own: home, guide, partner, account.
import { Live } from "../live.js";
import { installQuickExit } from "../quickexit.js";
import { setupGuide, setupHome } from "../guides.js";

installQuickExit();
const live = new Live();
const page = document.body.dataset.page;
if (page === "home") setupHome(live);
if (page === "guide") setupGuide(live);
window.coupleLive = live; // for the end-to-end tests and the browser console
