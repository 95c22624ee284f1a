// Leaders' dashboard: the statistics API as charts (volume over time, shares by category, weekday × hour
// heat map, unit ranking) and a map of child units coloured by handling status; CSV export.
import { api, qs, user } from "../api.js";
import { lang, pick, t } from "../i18n.js";
import { L, newMap, UNIT_COLOURS } from "../map.js";
import { errorBox, field, h, loading, mount, num, pct } from "../ui.js";
import { categoryTable, rangeForm, summaryCards } from "./public.js";
import { downloadCsv } from "./staff.js";

const UNIT_KEY = "civic.dashboard.unit";

export async function dashboardPage(main, { go }) {
  if (!user()) return go("/signin?next=/dashboard");
  const unit = h("input", { name: "unit", autocomplete: "off", value: localStorage.getItem(UNIT_KEY) || "", size: 12 });
  const { form, from, to } = rangeForm(load, [field(t("unit_code"), unit)]);
  const panels = {
    summary: h("div", { "aria-live": "polite" }),
    volume: h("div", { class: "chart" }),
    categories: h("div", { class: "chart-row" }),
    heatmap: h("div", { class: "scroll" }),
    ranking: h("div", {}),
    map: h("div", {}),
  };
  const exportBtn = h("button", { type: "button", class: "secondary", id: "dashboard-export" }, t("export_csv"));
  exportBtn.addEventListener("click", () => downloadCsv("/v1/staff/inbox/export", `inbox-${new Date().toISOString().slice(0, 10)}.csv`, exportBtn));
  mount(
    main,
    h("h1", {}, t("dashboard_title")),
    form,
    h("p", {}, exportBtn),
    panels.summary,
    h("section", { class: "card" }, h("h2", {}, t("volume")), panels.volume),
    h("section", { class: "card" }, h("h2", {}, t("by_category")), panels.categories),
    h("section", { class: "card" }, h("h2", {}, t("heatmap")), panels.heatmap),
    h("section", { class: "card" }, h("h2", {}, t("ranking")), panels.ranking),
    h("section", { class: "card" }, h("h2", {}, t("unit_map")), panels.map),
  );
  let charts = [];
  let map = null;
  const dispose = () => {
    charts.forEach((c) => c.destroy());
    charts = [];
    if (map) map.remove();
    map = null;
  };

  async function panel(el, path, draw) {
    mount(el, loading());
    try {
      const data = await api(path, { auth: true });
      await draw(data);
    } catch (err) {
      // 403: the figures of units above one's own are for their leaders; the public totals stay above.
      mount(el, err.status === 403 ? h("p", { class: "muted" }, t("own_unit_only"))
        : err.status === 404 && err.code !== "not_found" ? h("p", { class: "muted" }, t("not_available")) : errorBox(err));
    }
  }

  async function load() {
    dispose();
    localStorage.setItem(UNIT_KEY, unit.value.trim());
    const scope = { unit: unit.value.trim(), from: from.value, to: to.value };
    const C = await import("../charts.js");
    await Promise.all([
      panel(panels.summary, "/v1/stats/summary" + qs(scope), (s) => mount(panels.summary, summaryCards(s))),
      panel(panels.volume, "/v1/stats/timeseries" + qs({ ...scope, metric: "received", interval: "day" }), async (rec) => {
        const res = await api("/v1/stats/timeseries" + qs({ ...scope, metric: "resolved", interval: "day" }), { auth: true }).catch(() => null);
        const canvas = h("canvas", { role: "img", "aria-label": t("volume") });
        mount(panels.volume, canvas);
        const labels = rec.points.map((p) => p.start);
        const byStart = new Map((res?.points || []).map((p) => [p.start, p.value]));
        charts.push(C.lines(canvas, labels, [
          { label: t("received"), values: rec.points.map((p) => p.value) },
          ...(res ? [{ label: t("resolved"), values: labels.map((d) => byStart.get(d) ?? 0) }] : []),
        ]));
      }),
      panel(panels.categories, "/v1/stats/categories" + qs(scope), (data) => {
        const canvas = h("canvas", { role: "img", "aria-label": t("by_category") });
        mount(panels.categories, h("div", { class: "chart" }, canvas), categoryTable(data.items));
        charts.push(C.doughnut(canvas, data.items.map((c) => pick(c.name) || c.category), data.items.map((c) => c.count)));
      }),
      panel(panels.heatmap, "/v1/stats/heatmap" + qs(scope), (data) => mount(panels.heatmap, heatTable(data.cells))),
      panel(panels.ranking, "/v1/stats/units" + qs({ unit: scope.unit, from: scope.from, to: scope.to }), (data) => {
        const canvas = h("canvas", { role: "img", "aria-label": t("ranking") });
        const items = data.items || [];
        if (!items.length) return mount(panels.ranking, h("p", { class: "muted" }, t("no_child_units")));
        mount(panels.ranking, h("div", { class: "chart tall", style: `height:${Math.max(200, items.length * 44)}px` }, canvas), h("div", { class: "scroll" }, rankingTable(items)));
        charts.push(C.bars(canvas, items.map((u) => pick(u.name) || u.unit), [
          { label: t("on_time_rate") + " (%)", values: items.map((u) => (u.on_time_rate == null ? null : Math.round(u.on_time_rate * 100))) },
          { label: t("satisfaction_index"), values: items.map((u) => u.satisfaction_index) },
        ], { max: 100 }));
      }),
      panel(panels.map, "/v1/stats/map" + qs({ unit: scope.unit, from: scope.from, to: scope.to }), (fc) => {
        const mapEl = h("div", { class: "map", role: "region", "aria-label": t("unit_map") });
        mount(panels.map, mapEl, legend());
        map = newMap(mapEl);
        const layer = L.geoJSON(fc, {
          style: (f) => ({ color: "#1f2937", weight: 1, fillColor: UNIT_COLOURS[f.properties.colour] || UNIT_COLOURS.grey, fillOpacity: 0.6 }),
          onEachFeature: (f, lyr) => {
            const p = f.properties;
            const name = lang() === "vi" ? p.name_vi : p.name_en;
            const status = lang() === "vi" ? p.status_vi : p.status_en;
            lyr.bindTooltip(`${name}: ${status || ""}`);
            lyr.bindPopup(() => h("div", {}, h("strong", {}, name), h("br"), status || "", h("br"),
              `${t("received")}: ${num(p.received)} · ${t("open_reports")}: ${num(p.open)}`, h("br"),
              `${t("on_time_rate")}: ${pct(p.on_time_rate)} · ${t("satisfied_rate")}: ${pct(p.satisfied_rate)}`));
          },
        }).addTo(map);
        if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
      }),
    ]);
  }
  if (!unit.value) {
    // First visit: the signed-in leader's own unit (GET /v1/me), so the ranking shows its children.
    const me = await api("/v1/me", { auth: true }).catch(() => null);
    if (me?.units?.length) unit.value = me.units[0];
  }
  load();
  return dispose;
}

function legend() {
  return h("ul", { class: "legend", "aria-label": t("legend") },
    ["green", "amber", "red", "grey"].map((c) => h("li", {}, h("span", { class: "swatch", style: `background:${UNIT_COLOURS[c]}` }), t("colour_" + c))));
}

function heatTable(cells) {
  const max = Math.max(1, ...cells.flat());
  const days = t("weekdays");
  return h("table", { class: "heat", id: "heatmap" },
    h("caption", { class: "sr-only" }, t("heatmap")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), Array.from({ length: 24 }, (_, i) => h("th", { scope: "col" }, String(i))))),
    h("tbody", {}, cells.map((row, d) => h("tr", {}, h("th", { scope: "row" }, days[d]),
      row.map((v, hour) => h("td", {
        title: `${days[d]} ${hour}h: ${v}`,
        style: `background: rgba(29, 78, 216, ${(v / max).toFixed(2)}); color: ${v / max > 0.5 ? "#fff" : "#111"}`,
      }, v ? String(v) : ""))))));
}

function rankingTable(items) {
  return h("table", { class: "data", id: "ranking" },
    h("thead", {}, h("tr", {},
      [t("unit"), t("received"), t("resolved"), t("on_time_rate"), t("median_hours"), t("satisfied_rate"), t("satisfaction_index")].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, items.map((u) => h("tr", {},
      h("th", { scope: "row" }, pick(u.name) || u.unit),
      h("td", {}, num(u.received)), h("td", {}, num(u.resolved)), h("td", {}, pct(u.on_time_rate)),
      h("td", {}, num(u.median_hours)), h("td", {}, pct(u.satisfied_rate)), h("td", {}, num(u.satisfaction_index))))));
}
