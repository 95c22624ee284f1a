// Kinds the server owns, filled once from GET /v1/config (civic/domain/statuses.py) before the first
// page renders: statuses, their labels, stages and map colours are never re-declared in JavaScript.
import { STATUS } from "./i18n.js";

export const STATUS_COLOURS = {};
// What citizens may flag a report for: [[code, {vi, en}]] (civic/domain/moderation.py).
export const FLAG_REASONS = [];
export const STATUS_ORDER = [];
const STAGE = {};

export function useConfig(cfg) {
  STATUS_ORDER.length = 0;
  for (const s of (cfg && cfg.statuses) || []) {
    STATUS[s.code] = s.label;
    STATUS_COLOURS[s.code] = s.colour;
    STAGE[s.code] = s.stage;
    STATUS_ORDER.push(s.code);
  }
  FLAG_REASONS.length = 0;
  for (const r of (cfg && cfg.flag_reasons) || []) FLAG_REASONS.push([r.code, r.label]);
}

/** The statuses staff filter by: open ones first (waiting, then working), then the finished ones. */
export const staffStatuses = () => [
  ...STATUS_ORDER.filter((s) => STAGE[s] === "waiting" || STAGE[s] === "working"),
  ...STATUS_ORDER.filter((s) => STAGE[s] === "done"),
];
