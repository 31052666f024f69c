// Follow Airflow's own colour mode. The page is shown inside Airflow's UI (same origin), whose theme toggle
// stores "light", "dark" or "system" under the "theme" key of localStorage and puts the class "light" or
// "dark" on its <html>; opened on its own, the page follows the system. The result goes on our <html> as
// data-theme (the CSS variables key on it) and is announced with a "themechange" event (charts redraw).

const THEMES = ["light", "dark"];

function airflowTheme() {
  try {
    const root = window.parent !== window ? window.parent.document.documentElement : null;
    const shown = root ? THEMES.find((theme) => root.classList.contains(theme)) : undefined;
    if (shown) { return shown; }
  } catch { /* not inside Airflow's page */ }
  let stored = null;
  try { stored = window.localStorage.getItem("theme"); } catch { stored = null; }
  if (THEMES.includes(stored)) { return stored; }
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function apply() {
  const theme = airflowTheme();
  if (document.documentElement.dataset.theme === theme) { return; }
  document.documentElement.dataset.theme = theme;
  document.dispatchEvent(new CustomEvent("themechange", { detail: theme }));
}

/** A colour of the current theme (a CSS variable of the page, e.g. "--text"). */
export function themeColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

if (typeof window !== "undefined") { // (not when imported by a script outside a browser, e.g. the tests)
  apply();
  window.addEventListener("storage", (event) => { if (event.key === "theme") { apply(); } });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", apply);
  try {
    if (window.parent !== window) {
      new MutationObserver(apply).observe(window.parent.document.documentElement, { attributeFilter: ["class"] });
    }
  } catch { /* not inside Airflow's page */ }
}
