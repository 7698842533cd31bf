// Quick exit: the visible control, or Esc twice within a second, leaves for a neutral page
// at once. location.replace keeps this page out of the back button; it cannot erase history.
export function installQuickExit() {
  revealCurrentTab();
  const link = document.getElementById("quick-exit");
  if (!link) return;
  const leave = (event) => {
    if (event) event.preventDefault();
    document.body.hidden = true;
    window.location.replace(link.href);
  };
  link.addEventListener("click", leave);
  let lastEsc = 0;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const now = Date.now();
    if (now - lastEsc < 1000) leave(event);
    lastEsc = now;
  });
}

// Every page entry calls installQuickExit first, so the header's other small duty lives here:
// on a narrow phone the tab row scrolls sideways; show the current page's tab, not only the first.
function revealCurrentTab() {
  const row = document.querySelector(".tabs ul");
  const current = row && row.querySelector('[aria-current="page"]');
  if (!current || row.scrollWidth <= row.clientWidth) return;
  const li = current.parentElement;
  row.scrollLeft = Math.max(0, li.offsetLeft - row.offsetLeft - (row.clientWidth - li.offsetWidth) / 2);
}
