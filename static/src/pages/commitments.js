// The commitments pages: the list of both partners' commitments, and one commitment.
import { Live } from "../live.js";
import { installQuickExit } from "../quickexit.js";
import { setupDetail, setupIndex } from "../commitments/page.js";

installQuickExit();
document.documentElement.classList.add("js");
const live = new Live();
const page = document.body.dataset.page;
if (page === "commitments") setupIndex(live);
if (page === "commitment") setupDetail(live);
window.coupleLive = live; // for the end-to-end tests and the browser console
