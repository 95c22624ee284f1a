// The send queue (issue #20): a report written without a connection is kept on the phone (IndexedDB, with
// its photos) and sent when the connection returns: on `online`, on focus, when the page loads, and on a
// Background Sync message from the service worker where the browser has it. Each draft keeps its
// Idempotency-Key, so however often it is sent the server makes one report of it. Photos that could not
// be uploaded stay on the phone under their media item until they are (the tracking page offers them).
import { createStore, del, entries, get, set } from "idb-keyval";
import { api, ApiError, NetworkError, uploadMedia, user } from "./api.js";
import { t } from "./i18n.js";
import { h, mount } from "./ui.js";

const drafts = createStore("civic-outbox", "drafts"); // idempotency key → draft
const files = createStore("civic-missing", "files"); // "<report id>/<media id>" → {blob, name, type}
const KEEP_SENT_MS = 7 * 24 * 3600 * 1000;

const changed = () => window.dispatchEvent(new Event("civic:outbox"));

/** Keep a draft before the first try to send it: `{key, body, files: [{blob, type, name}]}`. */
export async function saveDraft(draft) {
  const u = user();
  await set(draft.key, { ...draft, sub: u && u.sub, state: "waiting", created_at: new Date().toISOString() }, drafts);
  changed();
  askForSync();
}

export async function dropDraft(key) {
  await del(key, drafts);
  changed();
}

/** The photo of a media item that has not arrived, kept on this phone, or undefined. */
export const missingFile = (reportId, mediaId) => get(`${reportId}/${mediaId}`, files).catch(() => undefined);
export const forgetFile = (reportId, mediaId) => del(`${reportId}/${mediaId}`, files).catch(() => undefined);

function askForSync() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.ready
    .then((reg) => reg.sync && reg.sync.register("civic-outbox"))
    .catch(() => { /* no Background Sync: `online` and focus do it */ });
}

// One sender at a time, across tabs (Web Locks where the browser has them, else within this tab): the page
// that just queued a draft and a flush woken by `online` or Background Sync never send it side by side.
let chain = Promise.resolve();
function exclusive(work) {
  if (navigator.locks) return navigator.locks.request("civic-outbox", work);
  const next = chain.then(work, work);
  chain = next.catch(() => {});
  return next;
}

/** Send one draft: the report (replayed safely with its key), then each photo not yet uploaded, each
 * retried with backoff. Returns the draft as sent. A NetworkError leaves it waiting. */
export const sendDraft = (key, options) => exclusive(() => send(key, options));

async function send(key, { onProgress, onRetry } = {}) {
  let draft = await get(key, drafts);
  if (!draft || draft.state === "sent" || draft.state === "refused") return draft;
  let answer;
  try {
    answer = await api("/v1/reports", { method: "POST", body: draft.body, auth: true, headers: { "Idempotency-Key": draft.key } });
  } catch (err) {
    // Bad input is told once and never sent again; offline, signed out, too many: it waits.
    if (err instanceof ApiError && err.status >= 400 && err.status < 500 && ![401, 408, 409, 429].includes(err.status)) {
      await set(key, { key, sub: draft.sub, state: "refused", summary: summary(draft), message: err.message, at: new Date().toISOString() }, drafts);
      changed();
    }
    throw err;
  }
  const report = { id: answer.id, code: answer.tracking_code };
  if (draft.state === "waiting") {
    // The first answer lists every item in the declared order (none can have arrived yet). The photos move
    // to the store of files not yet arrived, under their media ids, before any upload starts.
    const ids = answer.uploads.map((u) => u.media_id);
    await Promise.all(draft.files.map((f, i) => ids[i] && set(`${report.id}/${ids[i]}`, f, files)));
    draft = { key, sub: draft.sub, state: "uploading", report, media_ids: ids, summary: summary(draft), body: draft.body };
    await set(key, draft, drafts);
    changed();
  }
  const slots = new Map(answer.uploads.map((u) => [u.media_id, u]));
  let missing = 0;
  await Promise.all(draft.media_ids.map(async (mediaId, i) => {
    const file = await missingFile(report.id, mediaId);
    if (!file || !slots.has(mediaId)) return forgetFile(report.id, mediaId); // arrived already
    try {
      await uploadMedia(report.id, mediaId, file.blob, {
        slot: slots.get(mediaId), onProgress: onProgress && ((p) => onProgress(i, p)), onRetry: onRetry && ((n) => onRetry(i, n)),
      });
      await forgetFile(report.id, mediaId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return forgetFile(report.id, mediaId); // arrived meanwhile
      missing += 1;
    }
  }));
  const sent = { key, sub: draft.sub, state: "sent", report, summary: draft.summary, missing, at: new Date().toISOString() };
  await set(key, sent, drafts);
  changed();
  return sent;
}

const summary = (draft) => (draft.summary || (draft.body && draft.body.description) || "").slice(0, 80);

let running = null;

/** Send every waiting draft of the signed-in person, one sender at a time (the Idempotency-Key makes a
 * second sending harmless anyway). */
export function flush() {
  if (running) return running;
  const work = async () => {
    const u = user();
    if (!u || !navigator.onLine) return;
    for (const [key, draft] of await entries(drafts)) {
      if (draft.sub !== u.sub) continue;
      if (draft.state === "sent" || draft.state === "refused") {
        if (Date.now() - Date.parse(draft.at) > KEEP_SENT_MS) await del(key, drafts);
        continue;
      }
      try {
        await send(key);
      } catch (err) {
        if (err instanceof NetworkError) return; // still offline: the next `online` or focus tries again
      }
    }
  };
  running = exclusive(work).catch(() => {}).finally(() => (running = null));
  return running;
}

/** The drafts of the signed-in person, newest first. */
export async function myDrafts() {
  const u = user();
  if (!u) return [];
  try {
    return (await entries(drafts)).map(([, d]) => d).filter((d) => d.sub === u.sub)
      .sort((a, b) => String(b.at || b.created_at).localeCompare(String(a.at || a.created_at)));
  } catch {
    return [];
  }
}

/** What is waiting and what was sent, in the page's language: a list under the header on every page. */
async function render(box) {
  const items = await myDrafts();
  if (!items.length) return mount(box);
  mount(box, h("h2", {}, t("outbox_title")), h("ul", {}, items.map((d) => {
    if (d.state === "sent") {
      return h("li", { class: "sent" }, h("strong", {}, t("outbox_sent"), ": "),
        h("a", { href: "#/track/" + d.report.code }, d.report.code), " — ", d.summary,
        d.missing ? h("span", { class: "alert error" }, " ", t("outbox_missing", { n: d.missing })) : null);
    }
    if (d.state === "refused") return h("li", { class: "refused" }, h("strong", {}, t("error"), ": "), d.summary, " — ", d.message);
    const count = (d.files || d.media_ids || []).length;
    return h("li", { class: "waiting" }, h("strong", {}, t(navigator.onLine ? "outbox_sending" : "outbox_waiting"), ": "), summary(d),
      count ? ` (${t("outbox_photos", { n: count })})` : "");
  })));
}

/** Start the queue: a status box above the page, and the triggers that send. */
export function startOutbox(main) {
  const box = h("section", { id: "outbox", class: "outbox card", "aria-live": "polite", "aria-label": t("outbox_title") });
  main.before(box);
  const refresh = () => render(box).catch(() => {});
  window.addEventListener("civic:outbox", refresh);
  window.addEventListener("civic:auth", () => (refresh(), flush()));
  window.addEventListener("online", () => (refresh(), flush()));
  window.addEventListener("offline", refresh);
  window.addEventListener("focus", () => flush());
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && flush());
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", (e) => e.data && e.data.type === "civic-outbox" && flush());
  }
  refresh();
  flush();
}
