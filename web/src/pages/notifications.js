// The citizen's notifications (#/inbox), notification settings (#/preferences) and government alerts for
// their areas (#/alerts), over the notification API (chalice_app/chalicelib/routes/notify.py).
import { api, qs, user } from "../api.js";
import { CHANNELS, lang, pick, t } from "../i18n.js";
import { errorBox, field, h, loading, mount, when } from "../ui.js";

/** Administrative units by code, for pickers and names (GET /v1/areas, once per page load). */
let areasPromise = null;
function areas() {
  if (!areasPromise) areasPromise = api("/v1/areas").then((a) => a.items).catch((e) => ((areasPromise = null), Promise.reject(e)));
  return areasPromise;
}
const areaName = (a) => (lang() === "en" ? a.name_en : a.name_vi);

// ---------------------------------------------------------------- inbox

export async function notificationsPage(main, { go }) {
  if (!user()) return go("/signin?next=/inbox");
  const title = h("h1", {}, t("notifications_title"));
  mount(main, title, loading());
  const list = h("ul", { class: "cards notifications", id: "notifications" });
  const summary = h("p", { class: "muted", id: "unread", role: "status" });
  const more = h("p", {});
  let unread = 0;
  const showUnread = () => (summary.textContent = t("unread_count", { n: unread }));

  const item = (n) => {
    const state = h("span", { class: `badge ${n.read ? "read" : "unread"}` }, n.read ? t("read") : t("unread"));
    const li = h("li", { class: "card" + (n.read ? "" : " unread"), dataset: { id: n.id } },
      h("p", {}, h("strong", {}, n.title), " ", state),
      h("p", {}, n.text),
      h("p", { class: "muted" }, h("time", { datetime: n.at }, when(n.at)),
        n.tracking_code ? [" · ", h("a", { href: "#/track/" + encodeURIComponent(n.tracking_code) }, t("see_report"), " ", n.tracking_code)] : null,
        n.alert_id ? [" · ", h("a", { href: "#/alerts" }, t("nav_alerts"))] : null),
    );
    if (!n.read) {
      const out = h("span", { "aria-live": "polite" });
      const btn = h("button", {
        type: "button", class: "secondary mark-read",
        onclick: async () => {
          btn.disabled = true;
          try {
            await api(`/v1/me/notifications/${encodeURIComponent(n.id)}/read`, { method: "POST", auth: true });
            n.read = true;
            unread = Math.max(0, unread - 1);
            showUnread();
            li.replaceWith(item(n));
          } catch (err) {
            btn.disabled = false;
            mount(out, errorBox(err));
          }
        },
      }, t("mark_read"));
      li.append(h("p", {}, btn, out));
    }
    return li;
  };

  async function page(cursor) {
    const data = await api("/v1/me/notifications" + qs({ limit: 20, cursor }), { auth: true });
    unread = data.unread;
    showUnread();
    list.append(...data.items.map(item));
    mount(more, data.next_cursor ? h("button", { type: "button", class: "secondary", onclick: () => page(data.next_cursor).catch((e) => mount(more, errorBox(e))) }, t("more")) : null);
    return data;
  }
  try {
    const first = await page();
    mount(main, title, summary, first.items.length ? list : h("p", {}, t("no_notifications")), more,
      h("p", {}, h("a", { href: "#/preferences" }, t("nav_preferences")), " · ", h("a", { href: "#/alerts" }, t("nav_alerts"))));
  } catch (err) {
    if (err.status === 401) return go("/signin?next=/inbox");
    mount(main, title, errorBox(err));
  }
}

// ---------------------------------------------------------------- preferences

export async function preferencesPage(main, { go }) {
  if (!user()) return go("/signin?next=/preferences");
  const title = h("h1", {}, t("preferences_title"));
  mount(main, title, loading());
  let prefs, units;
  try {
    [prefs, units] = await Promise.all([api("/v1/me/preferences", { auth: true }), areas()]);
  } catch (err) {
    if (err.status === 401) return go("/signin?next=/preferences");
    return mount(main, title, errorBox(err));
  }
  const byCode = new Map(units.map((u) => [u.code, u]));
  // Wards and communes first in the pickers (where people live), then the larger units.
  const local = units.filter((u) => ["ward", "commune", "town"].includes(u.kind));
  const larger = units.filter((u) => !local.includes(u));
  const label = (u) => {
    const parent = u.parent_code && byCode.get(u.parent_code);
    return parent ? `${areaName(u)} — ${areaName(parent)}` : areaName(u);
  };
  const options = (chosen) => [...local, ...larger].map((u) => h("option", { value: u.code, selected: chosen(u.code) }, label(u)));

  const channels = h("fieldset", { class: "channels" }, h("legend", {}, t("channels")),
    CHANNELS.map(([c, name]) => h("label", {}, h("input", { type: "checkbox", name: "channels", value: c, checked: prefs.channels.includes(c) }), " ", pick(name))),
    h("small", { class: "hint" }, t("channels_hint"), " ", h("a", { href: "#/contacts" }, t("nav_contacts"))));
  const quietOn = h("input", { type: "checkbox", name: "quiet_on", id: "quiet-on", checked: !!prefs.quiet_hours });
  const quietStart = h("input", { type: "time", name: "quiet_start", value: prefs.quiet_hours ? prefs.quiet_hours.start : "22:00" });
  const quietEnd = h("input", { type: "time", name: "quiet_end", value: prefs.quiet_hours ? prefs.quiet_hours.end : "06:30" });
  const sync = () => (quietStart.disabled = quietEnd.disabled = !quietOn.checked);
  quietOn.addEventListener("change", sync);
  sync();
  const language = h("select", { name: "language" },
    ["vi", "en"].map((l) => h("option", { value: l, selected: prefs.language === l }, t("lang_" + l))));
  const home = h("select", { name: "home_unit" }, h("option", { value: "" }, t("not_set")), options((c) => c === prefs.home_unit));
  const follow = h("select", { name: "follow_units", multiple: true, size: 6 }, options((c) => prefs.follow_units.includes(c)));
  const out = h("div", { "aria-live": "polite", id: "preferences-status" });
  const save = h("button", { type: "submit" }, t("save"));

  const form = h("form", {
    class: "card", id: "preferences-form",
    onsubmit: async (e) => {
      e.preventDefault();
      save.disabled = true;
      const body = {
        channels: [...channels.querySelectorAll("input:checked")].map((i) => i.value),
        language: language.value,
        quiet_hours: quietOn.checked ? { start: quietStart.value, end: quietEnd.value } : null,
        home_unit: home.value || null,
        follow_units: [...follow.selectedOptions].map((o) => o.value),
      };
      try {
        await api("/v1/me/preferences", { method: "PUT", auth: true, body });
        mount(out, h("p", { class: "alert ok", role: "status" }, t("saved")));
      } catch (err) {
        mount(out, errorBox(err));
      } finally {
        save.disabled = false;
      }
    },
  },
  channels,
  h("fieldset", {}, h("legend", {}, t("quiet_hours")),
    h("div", { class: "check" }, quietOn, h("label", { for: "quiet-on" }, t("quiet_on"))),
    h("div", { class: "row" }, field(t("quiet_start"), quietStart), field(t("quiet_end"), quietEnd))),
  field(t("message_language"), language),
  field(t("home_unit"), home),
  field(t("follow_units"), follow, t("follow_units_hint")),
  save, out);
  mount(main, title, form, h("p", {}, h("a", { href: "#/alerts" }, t("nav_alerts")), " · ", h("a", { href: "#/inbox" }, t("nav_notifications"))));
}

// ---------------------------------------------------------------- alerts

const alertCard = (a) =>
  h("li", { class: `card alert-item ${a.severity}`, dataset: { id: a.id } },
    h("h3", {}, pick(a.title)),
    h("p", {}, pick(a.body)),
    h("p", { class: "muted" }, t("valid_until"), " ", h("time", { datetime: a.expires_at }, when(a.expires_at))));

export async function alertsPage(main) {
  const title = h("h1", {}, t("alerts_title"));
  mount(main, title, loading());
  try {
    // Signed in: the alerts that reach my home ward and the areas I follow (as they reach me by message).
    const prefs = user() ? await api("/v1/me/preferences", { auth: true }).catch(() => null) : null;
    const mine = prefs ? [prefs.home_unit, ...prefs.follow_units].filter(Boolean) : [];
    if (!mine.length) {
      const all = await api("/v1/alerts");
      return mount(main, title,
        prefs ? h("p", { class: "alert" }, t("alerts_need_area"), " ", h("a", { href: "#/preferences" }, t("nav_preferences"))) : null,
        h("h2", {}, t("alerts_everywhere")),
        all.items.length ? h("ul", { class: "cards alerts" }, all.items.map(alertCard)) : h("p", {}, t("no_alerts")));
    }
    const units = new Map((await areas()).map((u) => [u.code, u]));
    const found = await Promise.all(mine.map((code) => api("/v1/alerts" + qs({ unit: code }))));
    mount(main, title, mine.map((code, i) =>
      h("section", { class: "area-alerts", dataset: { unit: code } },
        h("h2", {}, t("alerts_for", { name: units.has(code) ? areaName(units.get(code)) : code })),
        found[i].items.length ? h("ul", { class: "cards alerts" }, found[i].items.map(alertCard)) : h("p", { class: "muted" }, t("no_alerts")))),
    h("p", {}, h("a", { href: "#/preferences" }, t("nav_preferences"))));
  } catch (err) {
    mount(main, title, errorBox(err));
  }
}
