// Leaders' dashboard: the statistics API as charts (volume over time, shares by category, weekday × hour
// heat map, unit ranking), a map of the child units coloured by handling status with the unit's own
// outline and its reports as points coloured by status; CSV export. Each figure's definition (from the
// API) shows on hover; ratings-based figures below the threshold say "not enough ratings (n = …)".
import { api, qs, user } from "../api.js";
import { label, lang, pick, STATUS, t } from "../i18n.js";
import { STATUS_COLOURS } from "../kinds.js";
import { clusterGroup, L, newMap, statusPoint, UNIT_COLOURS } from "../map.js";
import { errorBox, field, h, loading, mount, num, pct, when } from "../ui.js";
import { categoryTable, figureDefinitions, figureLabel, rangeForm, ratedValue, statusLegend, summaryCards, toDmy } from "./public.js";
import { downloadCsv } from "./staff.js";

const UNIT_KEY = "civic.dashboard.unit";

export async function dashboardPage(main, { go }) {
  if (!user()) return go("/signin?next=/dashboard");
  // The unit picker: the units whose figures I may see (my own and those below), as a tree.
  const unit = h("select", { name: "unit" }, h("option", { value: "" }, t("whole_system")));
  const tree = await api("/v1/stats/tree", { auth: true }).catch(() => ({ items: [] }));
  for (const u of tree.items) {
    unit.append(h("option", { value: u.unit }, "\u2003".repeat(u.depth) + (pick(u.name) || u.unit)));
  }
  const saved = localStorage.getItem(UNIT_KEY);
  const known = new Set(tree.items.map((u) => u.unit));
  if (saved && known.has(saved)) unit.value = saved;
  else if (tree.items.length) unit.value = tree.items[0].unit; // my own unit first
  const { form, range } = rangeForm(load, [field(t("unit_pick"), unit)]);
  unit.addEventListener("change", () => load());
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
    localStorage.setItem(UNIT_KEY, unit.value);
    const scope = { unit: unit.value, ...range() };
    const [C, defs] = await Promise.all([import("../charts.js"), figureDefinitions()]);
    const within = { unit: scope.unit, from: scope.from, to: scope.to };
    await Promise.all([
      panel(panels.summary, "/v1/stats/summary" + qs(scope), (s) => mount(panels.summary, summaryCards(s, defs))),
      panel(panels.volume, "/v1/stats/timeseries" + qs({ ...scope, metric: "received", interval: "day" }), async (rec) => {
        const res = await api("/v1/stats/timeseries" + qs({ ...scope, metric: "resolved", interval: "day" }), { auth: true }).catch(() => null);
        const canvas = h("canvas", { role: "img", "aria-label": t("volume") });
        mount(panels.volume, canvas);
        const labels = rec.points.map((p) => p.start);
        const byStart = new Map((res?.points || []).map((p) => [p.start, p.value]));
        charts.push(C.lines(canvas, labels.map((d) => toDmy(d).slice(0, 5)), [
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
      panel(panels.ranking, "/v1/stats/units" + qs(within), (data) => {
        const canvas = h("canvas", { role: "img", "aria-label": t("ranking") });
        const items = data.items || [];
        if (!items.length) return mount(panels.ranking, h("p", { class: "muted" }, t("no_child_units")));
        mount(panels.ranking, h("div", { class: "chart tall", style: `height:${Math.max(200, items.length * 44)}px` }, canvas), h("div", { class: "scroll" }, rankingTable(items, data.min_ratings, defs)));
        charts.push(C.bars(canvas, items.map((u) => pick(u.name) || u.unit), [
          { label: pick(defs.figures?.on_time_rate?.label) || t("on_time_rate") + " (%)", values: items.map((u) => (u.on_time_rate == null ? null : Math.round(u.on_time_rate * 100))) },
          { label: pick(defs.figures?.satisfaction_index?.label) || t("satisfaction_index"), values: items.map((u) => u.satisfaction_index) },
        ], { max: 100 }));
      }),
      panel(panels.map, "/v1/stats/map" + qs(within), async (fc) => {
        const mapEl = h("div", { class: "map", id: "dashboard-map", role: "region", "aria-label": t("unit_map") });
        const note = h("p", { class: "muted", id: "points-note" });
        mount(panels.map, mapEl, note);
        const areas = fc.features.filter((f) => f.geometry);
        const legend = [
          ...(areas.length ? ["green", "amber", "red", "grey"].map((c) => ({ colour: UNIT_COLOURS[c], label: colourText(c, fc.min_ratings) })) : []),
          ...(fc.outline ? [{ colour: "#1d4ed8", label: t("legend_unit_outline"), shape: "line" }] : []),
          ...statusLegend(),
        ];
        const m = (map = newMap(mapEl, { legend })); // this load's map (a new load may replace `map`)
        const drawn = L.featureGroup().addTo(m);
        if (fc.outline) {
          L.geoJSON(fc.outline, { style: { color: "#1d4ed8", weight: 3, fill: true, fillOpacity: 0.04, className: "unit-outline" } })
            .bindTooltip(lang() === "vi" ? fc.outline.properties.name_vi : fc.outline.properties.name_en).addTo(drawn);
        }
        L.geoJSON({ type: "FeatureCollection", features: areas }, {
          style: (f) => ({ color: "#1f2937", weight: 1, fillColor: UNIT_COLOURS[f.properties.colour] || UNIT_COLOURS.grey, fillOpacity: 0.45, className: "unit-area" }),
          onEachFeature: (f, lyr) => {
            const p = f.properties;
            const name = lang() === "vi" ? p.name_vi : p.name_en;
            const status = p.colour === "grey" ? colourText("grey", fc.min_ratings) : (lang() === "vi" ? p.status_vi : p.status_en);
            lyr.bindTooltip(`${name}: ${status || ""}`);
            lyr.bindPopup(() => h("div", {}, h("strong", {}, name), h("br"), status || "", h("br"),
              `${t("received")}: ${num(p.received)} · ${t("open_reports")}: ${num(p.open)} · ${t("overdue_open")}: ${num(p.overdue_open)}`, h("br"),
              `${t("on_time_rate")}: ${pct(p.on_time_rate)} · ${t("satisfied_rate")}: ${ratedValue(p.satisfied_rate, p.rated, fc.min_ratings, pct)}`));
          },
        }).addTo(drawn);
        // The reports themselves, coloured by status (clustered where they crowd).
        const points = await api("/v1/stats/points" + qs({ ...within, unit: within.unit || fc.unit }), { auth: true }).catch(() => null);
        if (points && map === m) {
          const cluster = clusterGroup().addTo(m);
          for (const f of points.features) {
            const [lon, lat] = f.geometry.coordinates;
            const p = f.properties;
            statusPoint([lat, lon], STATUS_COLOURS[p.status] || "#555", p.tracking_code)
              .bindPopup(() => h("div", {}, h("a", { href: `#/staff/report/${p.id}` }, p.tracking_code), " ", label(STATUS, p.status), h("br"), when(p.created_at)))
              .addTo(cluster);
          }
          mapEl.dataset.points = String(points.features.length);
          note.textContent = points.truncated ? t("points_cut", { shown: points.features.length, total: points.total })
            : `${t("report_points")}: ${num(points.total)}`;
          if (cluster.getBounds().isValid() && !drawn.getBounds().isValid()) m.fitBounds(cluster.getBounds().pad(0.2), { animate: false });
        }
        if (map !== m) return;
        // No animation: a zoom still running when the page reloads its panels (or removes the map) throws in Leaflet.
        if (drawn.getBounds().isValid()) m.fitBounds(drawn.getBounds(), { animate: false });
      }),
    ]);
  }
  load();
  return dispose;
}

/** The map colour's words; grey is "not enough ratings (fewer than N)" now that no index is made without them. */
function colourText(colour, minRatings) {
  return colour === "grey" ? `${t("colour_grey")} (< ${minRatings})` : t("colour_" + colour);
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

function rankingTable(items, minRatings, defs) {
  const head = [["unit"], ["received"], ["resolved"], ["on_time_rate"], ["overdue_open"], ["median_hours"], ["satisfied_rate"], ["satisfaction_index"]];
  return h("table", { class: "data", id: "ranking" },
    h("thead", {}, h("tr", {}, head.map(([code]) => h("th", { scope: "col" }, code === "unit" ? t("unit") : figureLabel(defs, code))))),
    h("tbody", {}, items.map((u) => h("tr", { "data-unit": u.unit },
      h("th", { scope: "row" }, pick(u.name) || u.unit),
      h("td", {}, num(u.received)), h("td", {}, num(u.resolved)), h("td", {}, pct(u.on_time_rate)),
      h("td", {}, num(u.overdue_open)), h("td", {}, num(u.median_hours)),
      h("td", { class: "satisfied" }, ratedValue(u.satisfied_rate, u.rated, minRatings, pct)),
      h("td", { class: "index" }, ratedValue(u.satisfaction_index, u.rated, minRatings, num))))));
}
