// Leaflet helpers. Every map gets a base layer and a legend:
// - the configured tile service (`tile_url` of /v1/config, or window.CIVIC_TILE_URL from config.js);
// - without one (the local stack), the published unit boundaries (GET /v1/boundaries, simplified to the
//   view, names included) drawn as the base, so a pin is never placed on a blank map.
// Many points are clustered (leaflet.markercluster).
import L from "leaflet";
import "leaflet.markercluster";
import "leaflet.markercluster/dist/MarkerCluster.css";
import "leaflet.markercluster/dist/MarkerCluster.Default.css";
import { api, qs } from "./api.js";
import { lang, t } from "./i18n.js";

export { L };

const BOUNDARY_STYLE = { color: "#475569", weight: 1.2, opacity: 0.9, fill: false, dashArray: "4 3", interactive: false };

export function newMap(el, { center, zoom = 13, bounds, legend = [] } = {}) {
  // maxZoom: without a tile layer Leaflet knows none, and clustering needs one.
  const map = L.map(el, { zoomControl: true, attributionControl: true, maxZoom: 19 });
  if (window.CIVIC_TILE_URL) {
    L.tileLayer(window.CIVIC_TILE_URL, { maxZoom: 19, attribution: window.CIVIC_TILE_ATTRIBUTION || "" }).addTo(map);
    el.dataset.base = "tiles";
  } else {
    el.classList.add("no-tiles");
    el.dataset.base = "boundaries";
    boundaryBase(map, el);
  }
  L.control.scale({ imperial: false }).addTo(map);
  map.legend = addLegend(map, legend);
  if (bounds) map.fitBounds(bounds);
  else map.setView(center || [21.0285, 105.8542], zoom);
  // The container may get its size after the page is laid out.
  setTimeout(() => map.invalidateSize(), 0);
  return map;
}

/** The published boundaries of the view, redrawn as it moves (answers are cached by the browser). */
function boundaryBase(map, el) {
  const layer = L.layerGroup().addTo(map);
  const pane = map.createPane("base");
  pane.style.zIndex = 250; // under the overlays (400) and markers (600)
  let serial = 0;
  let timer = null;
  let gone = false; // the page removed the map while an answer was on its way
  map.on("unload", () => ((gone = true), clearTimeout(timer)));
  const draw = async () => {
    if (gone) return;
    const mine = ++serial;
    const b = map.getBounds();
    // Rounded outwards, so small pans ask for the same box (and hit the cache).
    const r = (x, f) => (f(x * 100) / 100).toFixed(2);
    const bbox = [r(b.getSouth(), Math.floor), r(b.getWest(), Math.floor), r(b.getNorth(), Math.ceil), r(b.getEast(), Math.ceil)].join(",");
    try {
      const fc = await api("/v1/boundaries" + qs({ bbox }));
      if (mine !== serial || gone) return;
      layer.clearLayers();
      const showNames = fc.features.length <= 60;
      for (const f of fc.features) {
        L.geoJSON(f, { style: BOUNDARY_STYLE, pane: "base" }).addTo(layer);
        if (showNames) {
          const name = lang() === "en" ? f.properties.name_en : f.properties.name_vi;
          L.tooltip({ permanent: true, direction: "center", className: "unit-name", pane: "base", interactive: false })
            .setLatLng(f.properties.label_at).setContent(name).addTo(layer);
        }
      }
      el.dataset.outlines = String(fc.features.length);
    } catch {
      el.dataset.outlines = "0"; // too wide a view or none published: the grey background stays
    }
  };
  map.on("moveend", () => {
    clearTimeout(timer);
    timer = setTimeout(draw, 150);
  });
  map.whenReady(() => draw());
}

/** A legend control: [{colour, label, shape: "area" | "point" | "line"}]; the base layer's entry first. */
function addLegend(map, items) {
  const control = L.control({ position: "bottomright" });
  let current = items;
  let box = null;
  control.onAdd = () => {
    box = L.DomUtil.create("div", "map-legend");
    box.setAttribute("role", "note");
    render();
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  function render() {
    if (!box) return;
    const base = window.CIVIC_TILE_URL ? [] : [{ colour: "#475569", label: t("legend_boundary"), shape: "line" }];
    box.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = t("legend");
    box.append(title);
    const list = document.createElement("ul");
    for (const item of [...base, ...current]) {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = `swatch ${item.shape || "area"}`;
      sw.style.setProperty("--c", item.colour);
      li.append(sw, document.createTextNode(item.label));
      list.append(li);
    }
    box.append(list);
    box.hidden = !list.children.length; // a tile map without overlays has nothing to explain
  }
  control.addTo(map);
  return { set(next) { current = next; render(); } };
}

/** A cluster group: nearby points merge into a numbered circle until zoomed in. */
export function clusterGroup() {
  return L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 45, spiderfyOnMaxZoom: true, animate: false });
}

/** A report point coloured by its status (the statuses table's colour), drawn without image files. */
export function statusPoint(latlng, colour, title = "") {
  const icon = L.divIcon({ className: "dot", html: `<span style="background:${colour}"></span>`, iconSize: [16, 16], iconAnchor: [8, 8] });
  return L.marker(latlng, { icon, title, alt: title, keyboard: true });
}

/** south,west,north,east → Leaflet bounds. */
export const bboxBounds = (b) => L.latLngBounds([b[0], b[1]], [b[2], b[3]]);

/** A pin that can be dragged, drawn without image files. */
export function pin(latlng, draggable = false, title = "") {
  const icon = L.divIcon({ className: "pin", html: "<span></span>", iconSize: [28, 28], iconAnchor: [14, 28] });
  return L.marker(latlng, { draggable, icon, title, alt: title, keyboard: true, autoPan: true });
}


export const UNIT_COLOURS = { green: "#16a34a", amber: "#f59e0b", red: "#dc2626", grey: "#9ca3af" };
