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

// Our colours and font taken from Airflow's own Chakra UI tokens (CSS custom properties on its <html>) when the
// page is in Airflow's iframe, so it matches whatever Airflow draws; overview.css holds Airflow 3.3's defaults.
const AIRFLOW_TOKENS = {
  "--bg": "--chakra-colors-bg", "--surface": "--chakra-colors-bg", "--surface-2": "--chakra-colors-bg-muted",
  "--border": "--chakra-colors-border", "--text": "--chakra-colors-fg", "--muted": "--chakra-colors-fg-muted",
  "--accent": "--chakra-colors-fg-info", "--primary": "--chakra-colors-brand-solid",
  "--primary-text": "--chakra-colors-brand-contrast", "--primary-fg": "--chakra-colors-brand-fg", "--danger-solid": "--chakra-colors-danger-solid",
  "--danger": "--chakra-colors-fg-error", "--danger-bg": "--chakra-colors-bg-error",
  "--warn": "--chakra-colors-fg-warning", "--warn-bg": "--chakra-colors-bg-warning",
  "--ok": "--chakra-colors-fg-success", "--ok-bg": "--chakra-colors-bg-success", "--info-bg": "--chakra-colors-bg-info",
  "--switch-off": "--chakra-colors-bg-emphasized", "--focus": "--chakra-colors-brand-focus-ring",
  "--font": "--chakra-fonts-body",
};

function followAirflowTokens() {
  let parentStyle = null;
  try {
    parentStyle = window.parent !== window ? getComputedStyle(window.parent.document.documentElement) : null;
  } catch { parentStyle = null; /* not inside Airflow's page */ }
  const ours = document.documentElement.style;
  for (const [name, token] of Object.entries(AIRFLOW_TOKENS)) {
    const value = parentStyle ? parentStyle.getPropertyValue(token).trim() : "";
    if (value) { ours.setProperty(name, value); } else { ours.removeProperty(name); }
  }
}

function apply() {
  const theme = airflowTheme();
  followAirflowTokens();
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
