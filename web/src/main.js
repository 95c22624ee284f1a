// CivicBridge web app: hash routes, the header (navigation, language, sign-in) and the pages.
import "leaflet/dist/leaflet.css";
import "./style.css";
import { lang, pick, setLang, t } from "./i18n.js";
import { h, mount } from "./ui.js";
import { config, user, signOut } from "./api.js";
import { PROVINCE, useConfig } from "./kinds.js";
import { homePage, signInPage, signUpPage, submitPage, trackPage, myReportsPage } from "./pages/citizen.js";
import { reportsMapPage, statsPage } from "./pages/public.js";
import { inboxPage, staffReportPage } from "./pages/staff.js";
import { dashboardPage } from "./pages/dashboard.js";
import { contactsPage, verifyPage } from "./pages/contacts.js";
import { adminPage } from "./pages/admin.js";
import { alertsPage, notificationsPage, preferencesPage } from "./pages/notifications.js";
import { startOutbox } from "./outbox.js";
import { forgetPersonalCache, registerServiceWorker } from "./pwa.js";

const ROUTES = [
  [/^\/?$/, homePage],
  [/^\/signin$/, signInPage],
  [/^\/signup$/, signUpPage],
  [/^\/submit$/, submitPage],
  [/^\/track(?:\/([^/]+))?$/, trackPage],
  [/^\/mine$/, myReportsPage],
  [/^\/reports$/, reportsMapPage],
  [/^\/stats$/, statsPage],
  [/^\/staff$/, inboxPage],
  [/^\/staff\/report\/([0-9a-f]{32})$/, staffReportPage],
  [/^\/dashboard$/, dashboardPage],
  [/^\/contacts$/, contactsPage],
  [/^\/verify\/([A-Za-z0-9_-]+)$/, verifyPage],
  [/^\/admin$/, adminPage],
  [/^\/inbox$/, notificationsPage],
  [/^\/preferences$/, preferencesPage],
  [/^\/alerts$/, alertsPage],
];

// Links in messages point at /track/<code>: the same page as #/track/<code>.
const deep = location.pathname.match(/^\/track\/([^/]+)\/?$/);
if (deep) history.replaceState(null, "", "/#/track/" + deep[1]);

const header = document.getElementById("header");
const main = document.getElementById("main");
let cleanup = null;

export const go = (path) => {
  location.hash = "#" + path;
};

function currentPath() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  return raw.split("?")[0];
}

function renderHeader() {
  const u = user();
  const path = currentPath();
  const link = (href, key) =>
    h("a", { href: "#" + href, "aria-current": path === href || (href !== "/" && path.startsWith(href + "/")) ? "page" : null }, t(key));
  mount(
    header,
    h("a", { class: "skip", href: "#main", onclick: (e) => (e.preventDefault(), main.focus()) }, t("skip")),
    h(
      "div",
      { class: "bar" },
      h("a", { class: "brand", href: "#/" }, "CivicBridge"),
      h(
        "div",
        { class: "tools" },
        h(
          "button",
          {
            type: "button",
            class: "link",
            lang: lang() === "vi" ? "en" : "vi",
            "aria-label": t("switch_lang_label"),
            onclick: () => {
              setLang(lang() === "vi" ? "en" : "vi");
              render();
            },
          },
          t("switch_lang"),
        ),
        u
          ? h("button", { type: "button", class: "link", onclick: () => (signOut(), forgetPersonalCache(), go("/")) }, t("sign_out"))
          : h("a", { href: "#/signin" }, t("sign_in")),
      ),
    ),
    h(
      "nav",
      { "aria-label": "main" },
      h(
        "ul",
        {},
        h("li", {}, link("/submit", "nav_submit")),
        h("li", {}, link("/track", "nav_track")),
        h("li", {}, link("/reports", "nav_map")),
        h("li", {}, link("/stats", "nav_stats")),
        u && !u.isStaff ? h("li", {}, link("/mine", "nav_mine")) : null,
        u ? h("li", {}, link("/inbox", "nav_notifications")) : null,
        u ? h("li", {}, link("/preferences", "nav_preferences")) : null,
        u ? h("li", {}, link("/alerts", "nav_alerts")) : null,
        u ? h("li", {}, link("/contacts", "nav_contacts")) : null,
        u && u.isStaff ? h("li", {}, link("/staff", "nav_inbox")) : null,
        u && (u.isLeader || u.isStaff) ? h("li", {}, link("/dashboard", "nav_dashboard")) : null,
        u && u.groups.includes("admin") ? h("li", {}, link("/admin", "nav_admin")) : null,
      ),
    ),
    u ? h("p", { class: "who muted" }, t("signed_in_as"), " ", u.email, u.groups.length ? ` (${u.groups.join(", ")})` : "") : null,
  );
}

async function render() {
  document.documentElement.lang = lang();
  document.title = PROVINCE.vi ? `${t("app_name")} · ${pick(PROVINCE)}` : t("app_name");
  renderHeader();
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page's map may already be gone */
    }
    cleanup = null;
  }
  const path = currentPath();
  const query = Object.fromEntries(new URLSearchParams(location.hash.split("?")[1] || ""));
  for (const [re, page] of ROUTES) {
    const m = path.match(re);
    if (m) {
      // Each visit gets its own container: a page still loading for an earlier visit writes into a
      // detached element, never over the current page.
      const view = document.createElement("div");
      main.replaceChildren(view);
      const out = await page(view, { params: m.slice(1), query, go, rerender: render });
      if (!view.isConnected) {
        if (typeof out === "function") out();
        return;
      }
      if (typeof out === "function") cleanup = out;
      return;
    }
  }
  mount(main, h("h1", {}, t("not_found")));
}

// After a navigation, focus moves to the new page's content (screen readers announce it).
window.addEventListener("hashchange", () => {
  main.focus({ preventScroll: false });
  render();
});
window.addEventListener("civic:auth", renderHeader);
// Reports written offline wait on the phone and go when the connection returns; the app shell works offline.
startOutbox(main);
registerServiceWorker();
// The server's kinds first (labels, colours); offline, pages still render and show status codes.
config().then(useConfig, () => {}).finally(render);
