// Staff portal: the inbox (filters, due-state colours, CSV export) and a report's page with the actions
// the state machine allows for my role (the API lists them in `allowed_actions`).
import { api, qs, upload, user } from "../api.js";
import { ACTIONS, DUE_STATE, label, pick, PRIORITY, REFUSAL, STATUS, t } from "../i18n.js";
import { MEDIA_TYPES, staffStatuses } from "../kinds.js";
import { newMap, pin } from "../map.js";
import { errorBox, field, gallery, h, loading, mount, num, select, statusBadge, when } from "../ui.js";
import { eventText, timelineList, unitName } from "./citizen.js";
import { categoryOptions } from "./public.js";


function needStaff(go, next) {
  const u = user();
  if (!u) {
    go("/signin?next=" + next);
    return false;
  }
  return true;
}

/** Fetch a CSV with the token and save it as a file (a plain link cannot send the token). */
export async function downloadCsv(path, filename, button) {
  const old = button.textContent;
  button.disabled = true;
  button.textContent = t("exporting");
  try {
    const res = await api(path, { auth: true, raw: true, headers: { Accept: "text/csv" } });
    const blob = await res.blob();
    const a = h("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(a);
    a.click();
    setTimeout(() => (URL.revokeObjectURL(a.href), a.remove()), 1000);
  } catch (err) {
    button.after(errorBox(err));
  } finally {
    button.disabled = false;
    button.textContent = old;
  }
}

export async function inboxPage(main, { go, query }) {
  if (!needStaff(go, "/staff")) return;
  const cats = await categoryOptions().catch(() => []);
  const moderator = !!(user() || {}).moderatorOnly;
  const f = {
    queue: select("queue", [["", t("queue_units")], ["transferred", t("queue_transferred")], ["moderation", t("queue_moderation")]],
      moderator ? "moderation" : query.queue),
    status: select("status", [["", t("all")], ...staffStatuses().map((s) => [s, label(STATUS, s)])], query.status),
    priority: select("priority", [["", t("all")], ...Object.keys(PRIORITY).map((p) => [p, label(PRIORITY, p)])], query.priority),
    category: select("category", [["", t("all")], ...cats], query.category),
    due: select("due", [["", t("all")], ...Object.keys(DUE_STATE).map((d) => [d, label(DUE_STATE, d)])], query.due),
    q: h("input", { type: "search", name: "q", value: query.q || "" }),
  };
  const params = () => Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v));
  const list = h("div", { id: "inbox", "aria-live": "polite" });
  const exportBtn = h("button", { type: "button", class: "secondary", id: "export-csv" }, t("export_csv"));
  exportBtn.addEventListener("click", () => downloadCsv("/v1/staff/inbox/export" + qs(params()), `inbox-${new Date().toISOString().slice(0, 10)}.csv`, exportBtn));
  mount(
    main,
    h("h1", {}, t("inbox_title")),
    h("form", { class: "filters", onsubmit: (e) => (e.preventDefault(), load()) },
      field(t("queue"), f.queue), field(t("status"), f.status), field(t("priority"), f.priority), field(t("category"), f.category), field(t("due"), f.due),
      field(t("search"), f.q), h("button", { type: "submit" }, t("filter")), exportBtn),
    list,
  );
  if (moderator) f.queue.disabled = true; // moderators have only the moderation queue
  for (const el of [f.queue, f.status, f.priority, f.category, f.due]) el.addEventListener("change", () => load());

  async function load() {
    mount(list, loading());
    try {
      const data = await api("/v1/staff/inbox" + qs({ ...params(), limit: 100 }), { auth: true });
      mount(list,
        h("p", { class: "muted" }, `${t("total")}: ${data.total}`),
        data.items.length
          ? h("ul", { class: "cards inbox" }, data.items.map((r) => h("li", { class: `card due-${r.due_state}` },
            h("p", {},
              h("a", { href: `#/staff/report/${r.id}`, class: "code-link" }, r.tracking_code), " ",
              statusBadge(r.status), " ",
              h("span", { class: `due-label due-${r.due_state}` }, label(DUE_STATE, r.due_state)), " ",
              r.priority !== "normal" ? h("span", { class: "tag" }, label(PRIORITY, r.priority)) : null),
            h("p", {}, r.description),
            h("p", { class: "muted" }, `${f.queue.value === "transferred" ? `${t("now_at")} ` : ""}${r.unit_code || ""} · ${t("created")} ${when(r.created_at)} · ${t("due")} ${when(r.status === "routed" ? r.accept_due_at : r.due_at)}`))))
          : h("p", {}, t("no_reports")));
    } catch (err) {
      if (err.status === 401) return go("/signin?next=/staff");
      mount(list, errorBox(err, load));
    }
  }
  load();
}

// ---------------------------------------------------------------- one report

/** The citizen's answers to the category's questions, labelled as the form asked them. */
function answerFacts(report, cats) {
  const answers = ((report.timeline.find((e) => e.type === "submitted") || {}).data || {}).answers || {};
  const questions = ((cats.items.find((c) => c.code === report.category) || {}).questions || []).filter((q) => q.code in answers);
  return questions.map((q) => {
    const names = Object.fromEntries((q.options || []).map((o) => [o.key, pick(o.label)]));
    const value = [].concat(answers[q.code]).map((v) => names[v] ?? String(v)).join(", ");
    return [h("dt", {}, pick(q.label)), h("dd", { class: "answer" }, value)];
  });
}

export async function staffReportPage(main, ctx) {
  const { go, params } = ctx;
  const id = params[0];
  if (!needStaff(go, "/staff/report/" + id)) return;
  mount(main, loading());
  let r, cats;
  try {
    [r, cats] = await Promise.all([api(`/v1/staff/reports/${id}`, { auth: true }), api("/v1/categories")]);
  } catch (err) {
    return mount(main, h("p", {}, h("a", { href: "#/staff" }, t("back_inbox"))), errorBox(err));
  }
  let map = null;
  const render = (report, notice) => {
    if (map) map.remove();
    const mapEl = h("div", { class: "map small", role: "region", "aria-label": t("location") });
    const reportPhotos = report.media.filter((m) => m.role !== "evidence");
    const evidence = report.media.filter((m) => m.role === "evidence");
    mount(
      main,
      h("p", {}, h("a", { href: "#/staff" }, t("back_inbox"))),
      h("h1", {}, report.tracking_code, " ", statusBadge(report.status)),
      notice ? h("p", { class: "alert ok", role: "status" }, notice) : null,
      report.access === "transferred" ? h("p", { class: "alert", id: "transferred-notice" }, t("transferred_read_only")) : null,
      h("div", { class: "columns" },
        h("section", { class: "card" },
          h("dl", { class: "facts" },
            h("dt", {}, t("category")), h("dd", {}, pick(report.category_name) || report.category),
            h("dt", {}, t("priority")), h("dd", {}, label(PRIORITY, report.priority)),
            h("dt", {}, t("unit")), h("dd", { id: "unit-name" }, report.unit_code || "—"),
            h("dt", {}, t("created")), h("dd", {}, when(report.created_at)),
            h("dt", {}, t("accept_due")), h("dd", {}, when(report.accept_due_at)),
            h("dt", {}, t("resolve_due")), h("dd", {}, when(report.due_at)),
            h("dt", {}, t("assignee")), h("dd", {}, report.assignee || "—"),
            flagFacts(report),
            answerFacts(report, cats),
            h("dt", {}, t("version")), h("dd", {}, String(report.version)),
            moderationFacts(report.moderation),
          ),
          h("p", { class: "description" }, report.description),
          report.address ? h("p", { class: "muted" }, report.address) : null,
          report.question ? h("p", { class: "alert" }, t("question"), ": ", report.question) : null,
          mapEl,
          h("h2", {}, t("photos")),
          gallery(reportPhotos, t("photos")) || h("p", { class: "muted" }, t("none")),
          mediaStates(report.media),
          report.answer ? [h("h2", {}, t("result")), h("p", {}, report.answer)] : null,
          evidence.length ? [h("h3", {}, t("evidence")), gallery(evidence, t("evidence"))] : null,
        ),
        h("section", { class: "card", id: "actions" }, h("h2", {}, t("actions")), actionsPanel(report, (updated, msg) => render(updated, msg), cats)),
      ),
      h("section", { class: "card" }, h("h2", {}, t("timeline")), timelineList(report.timeline, true)),
    );
    unitName(report.unit_code).then((n) => {
      const el = document.getElementById("unit-name");
      if (el) el.textContent = n;
    });
    map = newMap(mapEl, { center: [report.location.lat, report.location.lon], zoom: 16,
      legend: [{ colour: "#dc2626", label: t("legend_place"), shape: "point" }] });
    pin([report.location.lat, report.location.lon]).addTo(map);
  };
  render(r);
  return () => map && map.remove();
}

/** The flags in words, each with what it points at: the other report (a link to it in the portal when
 * I may open it there, else its public tracking page), or how far from the place a photo was taken. */
function flagFacts(report) {
  const details = report.flag_details || [];
  if (!details.length) return null;
  const km = (m) => (m >= 1000 ? `${num(m / 1000)} km` : `${num(m)} m`);
  return [
    h("dt", {}, t("flags")),
    h("dd", {}, h("ul", { class: "flag-list", id: "flags" }, details.map((f) => h("li", { "data-flag": f.flag },
      pick(f.label),
      f.report ? [" — ", t("flag_other_report"), ": ", h("a", {
        href: f.report.staff_visible ? `#/staff/report/${f.report.id}` : `#/track/${f.report.tracking_code}`,
        class: "flag-report",
      }, f.report.tracking_code), " ", statusBadge(f.report.status)] : null,
      f.distance_m != null ? [" — ", f.media_id ? `${t("flag_photo")} ${f.media_id}: ` : "",
        h("span", { class: "flag-distance" }, t("flag_distance", { d: km(f.distance_m), limit: km(f.threshold_m) }))] : null)))),
  ];
}

/** Whether the public sees the report, why not, its flags and the public text staff wrote. */
function moderationFacts(m) {
  if (!m) return null;
  return [
    h("dt", {}, t("moderation")),
    h("dd", { id: "moderation" },
      h("span", { class: m.public ? "ok" : "bad" }, m.public ? t("public_now") : t("not_public_now")),
      m.hidden ? ` — ${pick(m.hidden)}` : "",
      m.flag_count ? ` · ${t("flag_count")}: ${m.flag_count}` : ""),
    m.redacted && m.redacted.description ? [h("dt", {}, t("public_text")), h("dd", {}, m.redacted.description)] : null,
  ];
}

function mediaStates(media) {
  const odd = media.filter((m) => m.status !== "ready" || m.hidden);
  if (!odd.length) return null;
  return h("ul", { class: "muted" }, odd.map((m) => h("li", {}, `${m.media_id}: ${m.hidden ? t("hidden_photo") : m.status}`,
    m.reason ? ` — ${pick(m.reason)}` : "")));
}

function actionsPanel(report, onDone, cats) {
  const allowed = report.allowed_actions || [];
  if (!allowed.length) return h("p", { class: "muted" }, t("no_actions"));
  const category = ((cats && cats.items) || []).find((c) => c.code === report.category);
  return allowed.map((action) => actionForm(report, action, onDone, category));
}

/** One action as a disclosure with its form; sends the version seen, reloads on a conflict. */
function actionForm(report, action, onDone, category) {
  const out = h("div", { "aria-live": "polite" });
  const controls = [];
  const body = () => ({});
  let build = body;
  let before = null; // async step before the action (evidence upload)
  switch (action) {
    case "refuse": {
      const reason = select("reason", Object.keys(REFUSAL).map((k) => [k, label(REFUSAL, k)]));
      const text = h("textarea", { name: "text", rows: 2, maxlength: 4000 });
      controls.push(field(t("reason"), reason), field(t("details"), text));
      build = () => ({ reason: reason.value, ...(text.value.trim() ? { text: text.value.trim() } : {}) });
      break;
    }
    case "transfer": {
      const toUnit = h("input", { name: "to_unit", autocomplete: "off" });
      const superior = h("input", { type: "checkbox", name: "superior", id: `sup-${report.id}` });
      const reason = h("textarea", { name: "reason", rows: 2, required: true, maxlength: 4000 });
      // The time for processing the receiver must meet; read as Vietnam time whatever the device's zone.
      const due = h("input", { type: "datetime-local", name: "due_at" });
      controls.push(field(t("to_unit"), toUnit), h("div", { class: "check" }, superior, h("label", { for: superior.id }, t("to_superior"))),
        field(t("transfer_due"), due), field(t("reason"), reason));
      build = () => ({
        ...(superior.checked ? { to: "superior" } : { to_unit: toUnit.value.trim() }),
        ...(due.value ? { due_at: `${due.value.length === 16 ? due.value + ":00" : due.value}+07:00` } : {}),
        reason: reason.value.trim(),
      });
      break;
    }
    case "assign": {
      const to = h("input", { name: "to", required: true, value: user()?.sub || "" });
      controls.push(field(t("assign_to"), to));
      build = () => ({ to: to.value.trim() });
      break;
    }
    case "set_priority": {
      const p = select("priority", Object.keys(PRIORITY).map((k) => [k, label(PRIORITY, k)]), report.priority);
      controls.push(field(t("priority"), p));
      build = () => ({ priority: p.value });
      break;
    }
    case "note": {
      const text = h("textarea", { name: "text", rows: 3, required: true, maxlength: 4000 });
      controls.push(field(t("note_text"), text));
      build = () => ({ text: text.value.trim() });
      break;
    }
    case "request_info": {
      const q = h("textarea", { name: "question", rows: 3, required: true, maxlength: 4000 });
      controls.push(field(t("question"), q));
      build = () => ({ question: q.value.trim() });
      break;
    }
    case "hide":
    case "unhide":
    case "return":
    case "reopen": {
      const reason = h("textarea", { name: "reason", rows: 2, required: true, maxlength: 4000 });
      controls.push(field(t("reason"), reason));
      build = () => ({ reason: reason.value.trim() });
      break;
    }
    case "resolve": {
      const answer = h("textarea", { name: "answer", rows: 4, required: true, minlength: 10, maxlength: 4000 });
      const tpl = h("select", { name: "template" }, h("option", { value: "" }, t("choose")));
      api("/v1/staff/templates" + qs({ category: report.category }), { auth: true })
        .then((d) => {
          for (const item of d.items) tpl.append(h("option", { value: item.id }, pick(item).slice(0, 80)));
          tpl.addEventListener("change", () => {
            const item = d.items.find((x) => x.id === tpl.value);
            if (item) answer.value = pick(item);
          });
        })
        .catch(() => {});
      const files = h("input", { type: "file", name: "evidence", multiple: true, accept: MEDIA_TYPES.evidence.join(",") });
      const progress = h("div", { class: "files", "aria-live": "polite" });
      // Some categories take the answer alone (the server checks it too); the label says so.
      const filesLabel = t(category && category.evidence_optional ? "evidence_optional" : "evidence_files");
      controls.push(field(t("template"), tpl), field(t("answer"), answer), field(filesLabel, files), progress);
      let evidenceIds = [];
      before = async () => {
        const chosen = Array.from(files.files || []);
        if (!chosen.length) return;
        const slots = await api(`/v1/staff/reports/${report.id}/evidence`, {
          method: "POST", auth: true, body: { media: chosen.map((f) => ({ content_type: f.type, size: f.size })) },
        });
        report.version = slots.version;
        const bars = chosen.map((f) => h("progress", { max: 1, value: 0, "aria-label": `${t("uploading")} ${f.name}` }));
        mount(progress, h("ul", {}, chosen.map((f, i) => h("li", {}, f.name, " ", bars[i]))));
        await Promise.all(slots.uploads.map((slot, i) => upload(slot, chosen[i], (p) => (bars[i].value = p))));
        progress.append(h("p", { role: "status" }, t("waiting_media")));
        const ids = slots.uploads.map((s) => s.media_id);
        // The media pipeline makes the renditions; resolve once every evidence item is ready.
        for (let i = 0; i < 90; i++) {
          const now = await api(`/v1/staff/reports/${report.id}`, { auth: true });
          report.version = now.version;
          const items = now.media.filter((m) => ids.includes(m.media_id));
          const refused = items.filter((m) => m.status === "refused");
          if (refused.length) throw new Error(`${t("media_refused")}: ${refused.map((m) => pick(m.reason)).join("; ")}`);
          if (items.length === ids.length && items.every((m) => m.status === "ready")) break;
          await new Promise((res) => setTimeout(res, 1000));
        }
        evidenceIds = ids;
      };
      build = () => ({ answer: answer.value.trim(), evidence: evidenceIds });
      break;
    }
    case "redact": {
      // Staff write the public version; the citizen's text stays for staff and the author.
      const shown = (report.moderation && report.moderation.redacted) || {};
      const text = h("textarea", { name: "description", rows: 4, required: true, maxlength: 4000 }, shown.description || report.description);
      const address = h("input", { name: "address", maxlength: 300, value: "address" in shown ? shown.address || "" : report.address || "" });
      const reason = h("textarea", { name: "reason", rows: 2, required: true, maxlength: 4000 });
      controls.push(field(t("public_text"), text), field(t("public_address"), address), field(t("reason"), reason));
      // Only what the moderator changed: an untouched field keeps the public version it has.
      const startText = text.value.trim();
      const startAddress = address.value.trim();
      build = () => ({
        ...(text.value.trim() !== startText ? { description: text.value.trim() } : {}),
        ...(address.value.trim() !== startAddress ? { address: address.value.trim() || null } : {}),
        reason: reason.value.trim(),
      });
      break;
    }
    case "hide_media":
    case "show_media": {
      const hidden = action === "show_media";
      const photos = report.media.filter((m) => !!m.hidden === hidden);
      const which = select("media_id", photos.map((m, i) => [m.media_id, `${t("photo")} ${i + 1} (${m.media_id})`]));
      const reason = h("textarea", { name: "reason", rows: 2, required: !hidden, maxlength: 4000 });
      controls.push(field(t("photo"), which), field(t("reason"), reason));
      build = () => ({ media_id: which.value, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) });
      break;
    }
    default:
      break;
  }
  const danger = ["refuse", "return", "hide", "hide_media"].includes(action);
  const submit = h("button", { type: "submit", class: danger ? "danger" : "" }, label(ACTIONS, action));
  const form = h("form", {
    class: "action", dataset: { action },
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      mount(out, loading());
      try {
        if (before) await before();
        const updated = await api(`/v1/staff/reports/${report.id}/actions`, {
          method: "POST", auth: true, body: { action, ...build(), version: report.version },
        });
        onDone(updated, `${label(ACTIONS, action)}: ${t("done")}`);
      } catch (err) {
        submit.disabled = false;
        if (err.code === "version_conflict") {
          const fresh = await api(`/v1/staff/reports/${report.id}`, { auth: true }).catch(() => null);
          if (fresh) return onDone(fresh, t("conflict"));
        }
        mount(out, errorBox(err));
      }
    },
  }, controls, submit, out);
  // Simple actions show just their button; the others open to show their form.
  if (!controls.length) return h("div", { class: "action-simple" }, form);
  return h("details", { class: "action-box" }, h("summary", {}, label(ACTIONS, action)), form);
}

export { eventText };
