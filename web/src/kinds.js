// Kinds the server owns, filled once from GET /v1/config (civic/domain/statuses.py) before the first
// page renders: statuses, their labels, stages and map colours are never re-declared in JavaScript.
import { CHANNELS, EVENTS, ROLES, STATUS } from "./i18n.js";

export const STATUS_COLOURS = {};
// What citizens may flag a report for: [[code, {vi, en}]] (civic/domain/moderation.py).
export const FLAG_REASONS = [];
// The deployment's name ({vi, en}), shown in the title and header.
export const PROVINCE = {};
export const STATUS_ORDER = [];
// The content types each upload form accepts: {report: [...], evidence: [...]} (civic/domain/reports.py).
export const MEDIA_TYPES = { report: [], evidence: [] };
const STAGE = {};

export function useConfig(cfg) {
  STATUS_ORDER.length = 0;
  for (const s of (cfg && cfg.statuses) || []) {
    STATUS[s.code] = s.label;
    STATUS_COLOURS[s.code] = s.colour;
    STAGE[s.code] = s.stage;
    STATUS_ORDER.push(s.code);
  }
  // The deployment's base map (config.js may still set one for a self-hosted tile server).
  if (cfg && cfg.tile_url && !window.CIVIC_TILE_URL) {
    window.CIVIC_TILE_URL = cfg.tile_url;
    window.CIVIC_TILE_ATTRIBUTION = cfg.tile_attribution || "";
  }
  Object.assign(PROVINCE, (cfg && cfg.province_name && cfg.province_name.vi) ? cfg.province_name : {});
  Object.assign(MEDIA_TYPES, (cfg && cfg.media_types) || {});
  for (const e of (cfg && cfg.events) || []) EVENTS[e.code] = e.label;
  for (const r of (cfg && cfg.roles) || []) ROLES[r.code] = r.label;
  CHANNELS.length = 0;
  for (const c of (cfg && cfg.channels) || []) CHANNELS.push([c.code, c.label]);
  FLAG_REASONS.length = 0;
  for (const r of (cfg && cfg.flag_reasons) || []) FLAG_REASONS.push([r.code, r.label]);
}

/** The statuses staff filter by: open ones first (waiting, then working), then the finished ones. */
export const staffStatuses = () => [
  ...STATUS_ORDER.filter((s) => STAGE[s] === "waiting" || STAGE[s] === "working"),
  ...STATUS_ORDER.filter((s) => STAGE[s] === "done"),
];
