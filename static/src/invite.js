// The invitation page: copy the link (Clipboard API, with a fallback) and share it (Web Share
// API where the browser has it). Both buttons stay hidden without JavaScript: the link is then
// a plain read-only field the person can select.

async function copyText(field) {
  const text = field.value;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) { /* permission refused: fall back */ }
  }
  // Not https (a home server on a LAN address) or refused: select it and use the old command.
  field.focus();
  field.select();
  field.setSelectionRange(0, text.length);
  try {
    return document.execCommand("copy");
  } catch (e) {
    return false;
  }
}

export function setupInvite(live) {
  const field = document.getElementById("invite-link");
  if (!field) return;
  const copy = document.getElementById("copy-link");
  const share = document.getElementById("share-link");
  const state = document.getElementById("copy-state");
  const say = (text) => { state.textContent = text; if (live) live.announce(text); };
  copy.hidden = false;
  copy.addEventListener("click", async () => {
    const ok = await copyText(field);
    say(ok ? "Link copied. Paste it into a message to your partner."
      : "Could not copy by itself: the link is selected, copy it from the menu.");
    if (!ok) { field.focus(); field.select(); }
  });
  // Only a neutral title and the link: a share sheet or a message preview says nothing more.
  const data = { title: "Invitation", url: field.value };
  if (navigator.share && (!navigator.canShare || navigator.canShare(data))) {
    share.hidden = false;
    share.addEventListener("click", async () => {
      try {
        await navigator.share(data);
        say("Shared.");
      } catch (e) {
        if (e && e.name === "AbortError") return; // the person closed the share sheet
        say("Sharing did not work here; use Copy link instead.");
      }
    });
  }
}

// The partner page: the invitation's buttons, and the inviter waiting on it hears a decline here
// (an accept reloads it, linked).
export function setupPair(live) {
  setupInvite(live);
  live.on("pairing", (key, item, ev) => {
    if (key === "invite" && item && item.declined && ev.type === "pair.declined") {
      for (const card of document.querySelectorAll("[data-invite-card]")) card.hidden = true;
      live.showNotice("Your invitation was declined. You can make a new one whenever you want.", false);
    }
  });
}
