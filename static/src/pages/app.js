// Every signed-in page that is not a capability of its own: home, guide, partner, account.
import { boot } from "../boot.js";
import { setupGuide, setupHome } from "../guides.js";
import { setupPair } from "../invite.js";
import { setupNow } from "../home.js";

boot({
  home: (live) => { setupHome(live); setupNow(live); },
  guide: setupGuide,
  pair: setupPair,
});
