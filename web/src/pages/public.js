// Public pages: the map and list of reports (GET /v1/reports), and the public statistics (stats API).
import { api, config, qs } from "../api.js";
import { label, pick, STATUS, t } from "../i18n.js";
import { STATUS_COLOURS, STATUS_ORDER } from "../kinds.js";
import { bboxBounds, newMap, L } from "../map.js";
import { day, errorBox, field, h, loading, mount, num, pct, select, statusBadge, when } from "../ui.js";

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
  const map = newMap(mapEl, { bounds: bboxBounds(cfg.feed_default_bbox || cfg.service_bbox) });
  const layer = L.layerGroup().addTo(map);
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
        L.circleMarker([r.location.lat, r.location.lon], {
          radius: 8, color: "#111", weight: 1, fillColor: STATUS_COLOURS[r.status] || "#555", fillOpacity: 0.85,
        })
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

export function rangeForm(onApply, extra = []) {
  const from = h("input", { type: "date", name: "from", value: day(-29) });
  const to = h("input", { type: "date", name: "to", value: day(0) });
  const form = h("form", { class: "filters", onsubmit: (e) => (e.preventDefault(), onApply()) },
    extra, field(t("from"), from), field(t("to"), to), h("button", { type: "submit" }, t("apply")));
  return { form, from, to };
}

export function summaryCards(s) {
  const card = (key, value, id) => h("div", { class: "stat", id }, h("span", { class: "value" }, value), h("span", { class: "label" }, t(key)));
  return h("div", { class: "stats", id: "summary" },
    card("received", num(s.received), "stat-received"),
    card("resolved", num(s.resolved), "stat-resolved"),
    card("processed_rate", pct(s.processed_rate), "stat-processed"),
    card("on_time_rate", pct(s.on_time_rate), "stat-on-time"),
    card("satisfied_rate", pct(s.satisfied_rate), "stat-satisfied"),
    card("satisfaction_index", s.satisfaction_index == null ? "—" : num(s.satisfaction_index), "stat-index"));
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
  const { form, from, to } = rangeForm(load);
  mount(main, h("h1", {}, t("stats_title")), form, summary, h("h2", {}, t("by_category")), cats);
  let chart = null;
  async function load() {
    mount(summary, loading());
    const range = { from: from.value, to: to.value };
    try {
      mount(summary, summaryCards(await api("/v1/stats/summary" + qs(range))));
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
