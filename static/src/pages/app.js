// Every signed-in page that is not a capability of its own: home, guide, partner, account.
import { Live } from "../live.js";
import { installQuickExit } from "../quickexit.js";
import { setupGuide, setupHome } from "../guides.js";
import { setupInvite } from "../invite.js";
import { setupNow } from "../home.js";

installQuickExit();
const live = new Live();
const page = document.body.dataset.page;
if (page === "home") { setupHome(live); setupNow(live); }
if (page === "guide") setupGuide(live);
if (page === "pair") {
  setupInvite(live);
  // The inviter waits on this page: a decline is said here (an accept reloads it, linked).
  live.on("pairing", (key, item, ev) => {
    if (key === "invite" && item && item.declined && ev.type === "pair.declined") {
      for (const card of document.querySelectorAll("[data-invite-card]")) card.hidden = true;
      live.showNotice("Your invitation was declined. You can make a new one whenever you want.", false);
    }
  });
}
window.coupleLive = live; // for the end-to-end tests and the browser console
