// Quick exit's guard, run before the page is drawn (a classic script in <head>, not a module:
// modules run after the first paint). A tab that left by quick exit remembers only that it left
// (a flag in its sessionStorage, never any content). If one of its pages is shown again while a
// session is still signed in — the exit request was lost on a dropped network, or Back was
// pressed before the request reached the server — the page stays hidden, the exit is sent
// again and the tab leaves for the neutral page once more. A signed-out page clears the flag,
// so the next sign-in in this tab is not turned away.
(function () {
  var html = document.documentElement;
  var FLAG = "couple.left";
  try {
    if (sessionStorage.getItem(FLAG) !== "1") return;
    if (!html.hasAttribute("data-signed-in")) { sessionStorage.removeItem(FLAG); return; }
    html.classList.add("leaving");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var exitPath = html.getAttribute("data-exit-path");
    if (exitPath) {
      fetch(exitPath, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": meta ? meta.content : "" },
        body: "{}",
      }).catch(function () {});
    }
    window.location.replace(html.getAttribute("data-exit-to") || "about:blank");
  } catch (e) { /* storage off: the exit request and no-store pages are all there is */ }
})();
