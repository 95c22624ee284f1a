// Leaflet helpers. A tile layer is optional: set window.CIVIC_TILE_URL (and CIVIC_TILE_ATTRIBUTION)
// in config.js where a tile server is available; without one the maps draw boundaries and markers only.
import L from "leaflet";

export { L };

export function newMap(el, { center, zoom = 13, bounds } = {}) {
  const map = L.map(el, { zoomControl: true, attributionControl: true });
  if (window.CIVIC_TILE_URL) {
    L.tileLayer(window.CIVIC_TILE_URL, { maxZoom: 19, attribution: window.CIVIC_TILE_ATTRIBUTION || "" }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  L.control.scale({ imperial: false }).addTo(map);
  if (bounds) map.fitBounds(bounds);
  else map.setView(center || [21.0285, 105.8542], zoom);
  // The container may get its size after the page is laid out.
  setTimeout(() => map.invalidateSize(), 0);
  return map;
}

/** south,west,north,east → Leaflet bounds. */
export const bboxBounds = (b) => L.latLngBounds([b[0], b[1]], [b[2], b[3]]);

/** A pin that can be dragged, drawn without image files. */
export function pin(latlng, draggable = false, title = "") {
  const icon = L.divIcon({ className: "pin", html: "<span></span>", iconSize: [28, 28], iconAnchor: [14, 28] });
  return L.marker(latlng, { draggable, icon, title, alt: title, keyboard: true, autoPan: true });
}


export const UNIT_COLOURS = { green: "#16a34a", amber: "#f59e0b", red: "#dc2626", grey: "#9ca3af" };
