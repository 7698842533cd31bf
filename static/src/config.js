// What the server gives the page instead of the page spelling it (couple/client.py, rendered by
// templates/base.html into the signed-in pages' #page-config): URL templates built by url_for,
// with {name} where a value goes, and the labels the server's templates use. One source each.
let given = null;

function pageConfig() {
  if (given) return given;
  const el = typeof document === "undefined" ? null : document.getElementById("page-config");
  given = el ? JSON.parse(el.textContent) : { urls: {}, labels: {} };
  return given;
}

// Tests in Node (no page) hand over what the server would have rendered.
export function usePageConfig(config) { given = config; }

export function url(name, params = {}) {
  const template = pageConfig().urls[name];
  if (!template) throw new Error(`the server gave no URL named ${name}`);
  return template.replace(/\{(\w+)\}/g, (_, key) => {
    if (params[key] === undefined || params[key] === null) throw new Error(`${name} needs ${key}`);
    return encodeURIComponent(String(params[key]));
  });
}

export function labels(group) { return pageConfig().labels[group] || {}; }

// True for the address of a change the server also takes over the socket (couple/
// socket_changes.py gives their templates); every other change is a POST.
let socketPaths = null;
export function takenOverSocket(path) {
  if (!socketPaths) {
    const escape = (s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    socketPaths = (pageConfig().socket_changes || []).map((template) => new RegExp(
      "^" + template.split(/\{\w+\}/).map(escape).join("[^/?#]+") + "$"));
  }
  return socketPaths.some((re) => re.test(path));
}
