// Quick exit: the visible control, or Esc twice within a second, leaves for a neutral page
// at once. location.replace keeps this page out of the back button; it cannot erase history.
export function installQuickExit() {
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
