// Public pages: the map and list of reports (GET /v1/reports), and the public statistics (stats API).
import { api, config, qs } from "../api.js";
import { label, pick, STATUS, t } from "../i18n.js";
import { STATUS_COLOURS, STATUS_ORDER } from "../kinds.js";
import { bboxBounds, clusterGroup, newMap, statusPoint } from "../map.js";
import { day, errorBox, field, h, loading, mount, num, pct, select, statusBadge, when } from "../ui.js";

/** The statuses table's colours as legend entries (from /v1/config; never re-declared here). */
export const statusLegend = () => STATUS_ORDER.map((code) => ({ colour: STATUS_COLOURS[code], label: label(STATUS, code), shape: "point" }));

let categoriesPromise = null;
export function categoryOptions() {
  if (!categoriesPromise) categoriesPromise = api("/v1/categories").catch((e) => ((categoriesPromise = null), Promise.reject(e)));
  return categoriesPromise.then((c) => c.items.map((x) => [x.code, pick(x.name)]));
}

export async function reportsMapPage(main) {
  mount(main, h("h1", {}, t("map_title")), loading());
  let cfg, cats;
  try {
    [cfg, cats] = await Promise.all([config(), categoryOptions()]);
  } catch (err) {
    return mount(main, h("h1", {}, t("map_title")), errorBox(err));
  }
  const category = select("category", [["", t("all")], ...cats]);
  const status = select("status", [["", t("all")], ...STATUS_ORDER.map((s) => [s, label(STATUS, s)])]);
  const mapEl = h("div", { class: "map", role: "region", "aria-label": t("map_title") });
  const list = h("div", { id: "report-list", "aria-live": "polite" });
  mount(
    main,
    h("h1", {}, t("map_title")),
    h("form", { class: "filters", onsubmit: (e) => (e.preventDefault(), load()) },
      field(t("category"), category), field(t("status"), status), h("button", { type: "submit" }, t("filter"))),
    mapEl,
    h("h2", {}, t("list")),
    list,
  );
  const map = newMap(mapEl, { bounds: bboxBounds(cfg.feed_default_bbox || cfg.service_bbox), legend: statusLegend() });
  const layer = clusterGroup().addTo(map);
  category.addEventListener("change", () => load());
  status.addEventListener("change", () => load());
  map.on("moveend", () => load());

  let serial = 0;
  async function load() {
    const mine = ++serial;
    const b = map.getBounds();
    const bbox = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].map((x) => x.toFixed(5)).join(",");
    mount(list, loading());
    try {
      const data = await api("/v1/reports" + qs({ bbox, category: category.value, status: status.value, limit: 100 }));
      if (mine !== serial) return;
      layer.clearLayers();
      for (const r of data.items) {
        statusPoint([r.location.lat, r.location.lon], STATUS_COLOURS[r.status] || "#555", r.tracking_code)
          .bindPopup(() => h("div", {}, h("strong", {}, r.tracking_code), " ", label(STATUS, r.status), h("br"),
            r.description.slice(0, 120), h("br"), h("a", { href: "#/track/" + r.tracking_code }, t("open"))))
          .addTo(layer);
      }
      mount(list, data.items.length
        ? h("ul", { class: "cards" }, data.items.map((r) => h("li", { class: "card" },
          h("p", {}, h("a", { href: "#/track/" + r.tracking_code }, r.tracking_code), " ", statusBadge(r.status), " ",
            h("span", { class: "muted" }, `${pick(r.category_name) || r.category} · ${when(r.created_at)}`)),
          h("p", {}, r.description.length > 200 ? r.description.slice(0, 200) + "…" : r.description))))
        : h("p", {}, t("no_reports")));
    } catch (err) {
      if (mine !== serial) return;
      mount(list, err.code === "bbox_too_large" ? h("p", { class: "alert" }, t("zoom_in")) : errorBox(err, load));
    }
  }
  load();
  return () => map.remove();
}

// ---------------------------------------------------------------- public statistics

/** dd/mm/yyyy (how dates are written in Vietnam, whatever the browser's locale) ↔ YYYY-MM-DD. */
const DMY = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/;
export const toDmy = (iso) => (iso ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "");
export function fromDmy(text) {
  const m = DMY.exec(text || "");
  if (!m) return null;
  const iso = `${m[3]}-${m[2].padStart(2, "0")}-${m[1].padStart(2, "0")}`;
  const d = new Date(iso + "T00:00:00Z");
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso ? null : iso;
}

/** The period form: two dd/mm/yyyy fields (a date input would follow the browser's locale and show
 * 08/11/2026 for 11 August to an English-set browser). `range()` is {from, to} as the API wants. */
export function rangeForm(onApply, extra = []) {
  const dateInput = (name, iso) => h("input", {
    type: "text", name, value: toDmy(iso), inputmode: "numeric", autocomplete: "off", size: 10,
    pattern: "\\d{1,2}/\\d{1,2}/\\d{4}", placeholder: t("date_hint"), title: t("date_hint"),
  });
  const from = dateInput("from", day(-29));
  const to = dateInput("to", day(0));
  const problem = h("p", { class: "alert error", role: "alert", hidden: true });
  const range = () => ({ from: fromDmy(from.value) || "", to: fromDmy(to.value) || "" });
  const form = h("form", { class: "filters", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const bad = [from, to].filter((el) => !fromDmy(el.value));
    problem.hidden = !bad.length;
    problem.textContent = bad.length ? t("bad_date") : "";
    bad.forEach((el) => el.setAttribute("aria-invalid", "true"));
    [from, to].filter((el) => !bad.includes(el)).forEach((el) => el.removeAttribute("aria-invalid"));
    if (!bad.length) onApply();
  } }, extra, field(t("from"), from, t("date_hint")), field(t("to"), to, t("date_hint")),
  h("button", { type: "submit" }, t("apply")), problem);
  return { form, from, to, range };
}

let figuresPromise = null;
/** What each figure means (GET /v1/stats/figures, defined once in civic/domain/stats.py). */
export function figureDefinitions() {
  if (!figuresPromise) figuresPromise = api("/v1/stats/figures").catch(() => ((figuresPromise = null), { figures: {}, min_ratings: 5 }));
  return figuresPromise;
}

/** A figure's name with its definition on hover (and for screen readers). */
export function figureLabel(defs, code, fallbackKey) {
  const f = defs && defs.figures && defs.figures[code];
  return f ? h("span", { class: "figure-def", title: pick(f.definition), "data-figure": code }, pick(f.label)) : t(fallbackKey || code);
}

/** A ratings-based figure, or "not enough ratings (n = …)" when the API withheld it. */
export function ratedValue(value, rated, minRatings, format) {
  if (value == null && rated != null && minRatings && rated < minRatings) return t("not_enough_ratings", { n: rated });
  return format(value);
}

export function summaryCards(s, defs) {
  const card = (code, value, id) => h("div", { class: "stat", id }, h("span", { class: "value" }, value), h("span", { class: "label" }, figureLabel(defs, code)));
  return h("div", { class: "stats", id: "summary" },
    card("received", num(s.received), "stat-received"),
    card("resolved", num(s.resolved), "stat-resolved"),
    card("processed_rate", pct(s.processed_rate), "stat-processed"),
    card("on_time_rate", pct(s.on_time_rate), "stat-on-time"),
    card("overdue_open", num(s.overdue_open), "stat-overdue-open"),
    card("satisfied_rate", ratedValue(s.satisfied_rate, s.rated, s.min_ratings, pct), "stat-satisfied"),
    card("satisfaction_index", ratedValue(s.satisfaction_index, s.rated, s.min_ratings, (x) => (x == null ? "—" : num(x))), "stat-index"));
}

export function categoryTable(items) {
  return h("div", { class: "scroll" }, h("table", { class: "data" },
    h("caption", {}, t("by_category")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("category")), h("th", { scope: "col" }, t("count")), h("th", { scope: "col" }, t("share")))),
    h("tbody", {}, items.map((c) => h("tr", {}, h("th", { scope: "row" }, pick(c.name) || c.category), h("td", {}, num(c.count)), h("td", {}, pct(c.share)))))));
}

export async function statsPage(main) {
  const summary = h("div", { "aria-live": "polite" });
  const cats = h("div", { class: "chart-row" });
  const { form, range: period } = rangeForm(load);
  mount(main, h("h1", {}, t("stats_title")), form, summary, h("h2", {}, t("by_category")), cats);
  let chart = null;
  async function load() {
    mount(summary, loading());
    const range = period();
    try {
      const [answer, defs] = await Promise.all([api("/v1/stats/summary" + qs(range)), figureDefinitions()]);
      mount(summary, summaryCards(answer, defs));
    } catch (err) {
      mount(summary, err.status === 404 ? h("p", { class: "muted" }, t("not_available")) : errorBox(err, load));
    }
    try {
      const data = await api("/v1/stats/categories" + qs(range));
      const canvas = h("canvas", { role: "img", "aria-label": t("by_category") });
      mount(cats, h("div", { class: "chart" }, canvas), categoryTable(data.items));
      const { doughnut } = await import("../charts.js");
      if (chart) chart.destroy();
      chart = doughnut(canvas, data.items.map((c) => pick(c.name) || c.category), data.items.map((c) => c.count));
    } catch (err) {
      mount(cats, err.status === 404 ? h("p", { class: "muted" }, t("not_available")) : errorBox(err, load));
    }
  }
  load();
  return () => chart && chart.destroy();
}
