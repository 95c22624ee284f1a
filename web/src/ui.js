// Small DOM helpers: build elements safely (text is never parsed as HTML), format dates for people
// in Asia/Ho_Chi_Minh, show errors in the API's language.
import { lang, t, label, STATUS } from "./i18n.js";
import { STATUS_COLOURS } from "./kinds.js";

/** h("div", {class: "x", onclick: fn}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const TZ = "Asia/Ho_Chi_Minh";
const locale = () => (lang() === "en" ? "en-GB" : "vi-VN");

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // dd/mm/yyyy for people (a 2-digit year reads as a day in Vietnamese dates).
  return new Intl.DateTimeFormat(locale(), {
    timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(d);
}

export const pct = (x) => (x === null || x === undefined ? "—" : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(x));
export const num = (x) => (x === null || x === undefined ? "—" : new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(x));

/** Today in Asia/Ho_Chi_Minh as YYYY-MM-DD, and n days before. */
export function day(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400_000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

export const statusBadge = (status) =>
  h("span", { class: `badge status st-${status}`, style: `--st: ${STATUS_COLOURS[status] || "#6b7280"}` }, label(STATUS, status));

export function errorBox(err, onRetry) {
  const fields = err && err.fields ? Object.entries(err.fields) : [];
  return h(
    "div",
    { class: "alert error", role: "alert" },
    h("strong", {}, t("error"), ": "),
    (err && err.message) || String(err),
    fields.length ? h("ul", {}, fields.map(([k, v]) => h("li", {}, `${k}: ${typeof v === "object" ? v[lang()] || v.vi || "" : v}`))) : null,
    onRetry ? h("button", { type: "button", class: "secondary", onclick: onRetry }, t("retry")) : null,
  );
}

export const loading = () => h("p", { class: "muted", role: "status" }, t("loading"));

/** Replace the contents of `el` with the children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field: label + control (+ hint), the control's id links them. */
let seq = 0;
export function field(labelText, control, hint) {
  const id = control.id || `f${++seq}`;
  control.id = id;
  const hintEl = hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  const isFile = control.tagName === "INPUT" && control.type === "file";
  return h("div", { class: "field" }, h("label", { for: id }, labelText), isFile ? fileControl(control) : control, hintEl);
}

/** A file input with a button and a status in the page's language: the browser's own button ("Choose
 * Files") speaks the browser's language. The native input stays in the page, visually hidden but
 * focusable, so the keyboard, screen readers and form validation use it as before; the visible button
 * is a second label of the same input. */
export function fileControl(input) {
  input.classList.add("file-native");
  const status = h("span", { class: "file-status muted", id: `${input.id}-status`, "aria-live": "polite" });
  const show = () => {
    const n = (input.files || []).length;
    status.textContent = n === 0 ? t("no_file_chosen") : n === 1 ? input.files[0].name : t("files_chosen", { n });
  };
  input.addEventListener("change", show);
  input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), status.id].filter(Boolean).join(" "));
  show();
  return h("span", { class: "file-picker" }, input,
    h("label", { for: input.id, class: "button secondary file-button", "aria-hidden": "true" }, t("choose_files")), " ", status);
}

export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
}

/** A document (PDF evidence) as a link with its page count: never shown as a picture. */
function documentLink(m) {
  const name = m.pages === 1 ? t("document_page") : t("document_pages", { n: m.pages ?? "?" });
  return h("a", { class: "document", href: m.renditions.document, target: "_blank", rel: "noopener" }, name);
}

/** Pictures of a media list (ready renditions), linked to the large size; documents as links. */
export function gallery(items, alt) {
  const ready = (items || []).filter((m) => m.status === "ready" && m.renditions);
  if (!ready.length) return null;
  return h(
    "ul",
    { class: "gallery" },
    ready.map((m) =>
      h(
        "li",
        {},
        m.kind === "document"
          ? documentLink(m)
          : m.kind === "video"
          ? h("video", { src: m.renditions.original || Object.values(m.renditions)[0], controls: true, preload: "metadata" })
          : h("a", { href: m.renditions.large || m.renditions.card }, h("img", { src: m.renditions.thumb || m.renditions.card, alt, loading: "lazy", width: 200, height: 200 })),
      ),
    ),
  );
}
