// Citizen pages: home, sign in / sign up, submit a report, track it (timeline, result, rating), my reports.
import { api, ApiError, config, confirmSignUp, NetworkError, newKey, poll, qs, setNewPassword, signIn, signUp, uploadMedia, user } from "../api.js";
import { dropDraft, forgetFile, missingFile, saveDraft, sendDraft } from "../outbox.js";
import { preparePhoto } from "../photos.js";
import { EVENTS, label, lang, pick, REFUSAL, ROLES, STATUS, t } from "../i18n.js";
import { FLAG_REASONS } from "../kinds.js";
import { newMap, pin, bboxBounds, L } from "../map.js";
import { errorBox, field, gallery, h, loading, mount, select, statusBadge, when } from "../ui.js";

const MAX_FILES = 5;
const kb = (bytes) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`);
const ACCEPT = "image/jpeg,image/png,image/webp,image/heic,video/mp4,video/quicktime";

export function homePage(main, { go }) {
  const code = h("input", { name: "code", autocomplete: "off", placeholder: "HN-4K7Q2M", required: true });
  mount(
    main,
    h("h1", {}, t("home_title")),
    h("p", { class: "lead" }, t("home_lead")),
    h("p", {}, h("a", { class: "button", href: "#/submit" }, t("nav_submit"))),
    h(
      "form",
      { class: "card", onsubmit: (e) => (e.preventDefault(), go("/track/" + encodeURIComponent(code.value.trim()))) },
      h("h2", {}, t("track_title")),
      field(t("tracking_code"), code),
      h("button", { type: "submit" }, t("track_btn")),
    ),
    h("p", {}, h("a", { href: "#/reports" }, t("nav_map")), " · ", h("a", { href: "#/stats" }, t("nav_stats"))),
  );
}

// ---------------------------------------------------------------- sign in / sign up

export function signInPage(main, { go, query }) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const out = h("div", { "aria-live": "polite" });
  const next = query.next || "";
  mount(
    main,
    h("h1", {}, t("sign_in")),
    query.next ? h("p", { class: "alert" }, t("signin_needed")) : null,
    h(
      "form",
      {
        class: "card narrow",
        onsubmit: async (e) => {
          e.preventDefault();
          mount(out, loading());
          const done = (u) => {
            window.dispatchEvent(new Event("civic:auth"));
            go(next || (u.isStaff ? "/staff" : "/submit"));
          };
          try {
            done(await signIn(email.value, password.value));
          } catch (err) {
            if (err.code !== "NEW_PASSWORD_REQUIRED") return mount(out, errorBox(err));
            mount(out, newPasswordForm(err, done)); // invited with a temporary password
          }
        },
      },
      field(t("email"), email),
      field(t("password"), password),
      h("button", { type: "submit" }, t("sign_in")),
      out,
    ),
    h("p", {}, t("no_account"), " ", h("a", { href: "#/signup" + (next ? "?next=" + encodeURIComponent(next) : "") }, t("sign_up"))),
  );
}

/** First sign-in with a temporary password: choose your own. */
function newPasswordForm(challenge, done) {
  const fresh = h("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true, minlength: 8 });
  const out = h("div", { "aria-live": "polite" });
  return h("form", {
    class: "card", id: "new-password-form",
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        done(await setNewPassword(challenge, fresh.value));
      } catch (err) {
        mount(out, errorBox(err));
      }
    },
  }, h("p", { class: "alert", role: "status" }, t("new_password_needed")), field(t("new_password"), fresh, t("password_hint")),
  h("button", { type: "submit" }, t("save_password")), out);
}

export function signUpPage(main, { go, query }) {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const code = h("input", { name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true });
  const out = h("div", { "aria-live": "polite" });
  const confirmForm = h(
    "form",
    {
      class: "card narrow",
      hidden: true,
      onsubmit: async (e) => {
        e.preventDefault();
        mount(out, loading());
        try {
          await confirmSignUp(email.value, code.value);
          await signIn(email.value, password.value);
          window.dispatchEvent(new Event("civic:auth"));
          go(query.next || "/submit");
        } catch (err) {
          mount(out, errorBox(err));
        }
      },
    },
    h("p", {}, t("signup_sent")),
    field(t("confirm_code"), code),
    h("button", { type: "submit" }, t("confirm")),
  );
  const signUpForm = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (e) => {
        e.preventDefault();
        mount(out, loading());
        try {
          const res = await signUp(email.value, password.value);
          mount(out);
          if (res.UserConfirmed) {
            await signIn(email.value, password.value);
            window.dispatchEvent(new Event("civic:auth"));
            go(query.next || "/submit");
            return;
          }
          signUpForm.hidden = true;
          confirmForm.hidden = false;
          code.focus();
        } catch (err) {
          mount(out, errorBox(err));
        }
      },
    },
    field(t("email"), email),
    field(t("password"), password, t("password_hint")),
    h("button", { type: "submit" }, t("sign_up")),
  );
  mount(main, h("h1", {}, t("sign_up")), signUpForm, confirmForm, out, h("p", {}, t("have_account"), " ", h("a", { href: "#/signin" }, t("sign_in"))));
}

// ---------------------------------------------------------------- submit

/** The category's questions as form controls, one per type (the types come from the server's
 * categories: text, number, single, multiple, yes_no, date). Returns a function that reads the answers. */
function renderQuestions(box, questions) {
  const read = [];
  const controls = questions.map((q) => {
    const required = q.required || undefined;
    if (q.type === "single" || q.type === "yes_no" || q.type === "multiple") {
      const multiple = q.type === "multiple";
      const inputs = q.options.map((o) => h("input", { type: multiple ? "checkbox" : "radio", name: `q-${q.code}`, value: o.key, required: !multiple && required }));
      read.push(() => {
        const chosen = inputs.filter((i) => i.checked).map((i) => i.value);
        return [q.code, multiple ? chosen : chosen[0]];
      });
      return h("fieldset", { class: "question" }, h("legend", {}, pick(q.label), q.required ? " *" : ""),
        q.options.map((o, i) => h("label", { class: "check" }, inputs[i], " ", pick(o.label))));
    }
    const input = q.type === "text"
      ? h("input", { name: `q-${q.code}`, maxlength: 500, required })
      : h("input", { type: q.type === "number" ? "number" : "date", step: q.type === "number" ? "any" : undefined, name: `q-${q.code}`, required });
    read.push(() => [q.code, input.value === "" ? undefined : q.type === "number" ? Number(input.value) : input.value.trim()]);
    return field(pick(q.label) + (q.required ? " *" : ""), input);
  });
  mount(box, controls);
  return () => Object.fromEntries(read.map((r) => r()).filter(([, v]) => v !== undefined && !(Array.isArray(v) && !v.length)));
}

export async function submitPage(main, { go }) {
  if (!user()) return go("/signin?next=/submit");
  mount(main, h("h1", {}, t("submit_title")), loading());
  let cats, cfg;
  try {
    [cats, cfg] = await Promise.all([api("/v1/categories"), config()]);
  } catch (err) {
    return mount(main, h("h1", {}, t("submit_title")), errorBox(err, () => submitPage(main, { go })));
  }
  const idempotencyKey = newKey(); // the same key if this form is sent again after a network failure
  const category = h("select", { name: "category", required: true }, h("option", { value: "" }, t("choose")),
    cats.items.map((c) => h("option", { value: c.code }, pick(c.name))));
  const description = h("textarea", { name: "description", rows: 4, maxlength: 4000, required: true });
  const address = h("input", { name: "address", maxlength: 300, autocomplete: "street-address" });
  const anonymous = h("input", { type: "checkbox", name: "anonymous", id: "anonymous" });
  const b = cfg.feed_default_bbox || cfg.service_bbox;
  const start = cfg.map_center || [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
  const lat = h("input", { type: "number", name: "lat", step: "any", min: -90, max: 90, required: true, value: start[0].toFixed(6), inputmode: "decimal" });
  const lon = h("input", { type: "number", name: "lon", step: "any", min: -180, max: 180, required: true, value: start[1].toFixed(6), inputmode: "decimal" });
  const files = h("input", { type: "file", name: "media", multiple: true, accept: ACCEPT });
  const fileList = h("ul", { class: "files", "aria-live": "polite" });
  const nearby = h("section", { class: "nearby", "aria-live": "polite" });
  const geoStatus = h("span", { class: "muted", role: "status" });
  const mapEl = h("div", { class: "map small", role: "region", "aria-label": t("location") });
  const out = h("div", { "aria-live": "assertive" });
  const unitHint = h("p", { id: "unit-hint", class: "muted", "aria-live": "polite" });
  const submitBtn = h("button", { type: "submit" }, t("submit"));
  const questionsBox = h("div", { class: "questions", "aria-live": "polite" });
  // When the chosen category's reports become public, said before sending.
  const publishNote = h("p", { id: "publish-note", class: "hint", "aria-live": "polite" });
  let answerOf = () => ({}); // the chosen category's questions → their answers

  const form = h(
    "form",
    { class: "card", novalidate: false },
    field(t("category"), category),
    publishNote,
    questionsBox,
    field(t("description"), description, t("description_hint")),
    h("fieldset", {},
      h("legend", {}, t("location")),
      h("p", { class: "hint" }, t("location_hint")),
      mapEl,
      h("p", {}, h("button", { type: "button", class: "secondary", onclick: locate }, t("use_my_location")), " ", geoStatus),
      h("div", { class: "row" }, field(t("latitude"), lat), field(t("longitude"), lon)),
      unitHint,
      field(t("address"), address),
    ),
    field(t("media"), files, t("media_hint")),
    fileList,
    h("div", { class: "check" }, anonymous, h("label", { for: "anonymous" }, t("anonymous"))),
    nearby,
    submitBtn,
    out,
  );
  mount(main, h("h1", {}, t("submit_title")), form);

  const map = cfg.map_center ? newMap(mapEl, { center: cfg.map_center, zoom: cfg.map_zoom || 15 }) : newMap(mapEl, { bounds: bboxBounds(b) });
  const marker = pin(start, true, t("location")).addTo(map);
  const setPoint = (p, pan) => {
    lat.value = p.lat.toFixed(6);
    lon.value = p.lng.toFixed(6);
    marker.setLatLng(p);
    if (pan) map.panTo(p);
    refreshNearby();
  };
  marker.on("dragend", () => setPoint(marker.getLatLng(), false));
  map.on("click", (e) => setPoint(e.latlng, false));
  const fromInputs = () => {
    const p = L.latLng(Number(lat.value), Number(lon.value));
    // Leaving a coordinate field unchanged (e.g. tapping "Send" next) must not move the map or the page.
    if (p.equals(marker.getLatLng())) return;
    if (Number.isFinite(p.lat) && Number.isFinite(p.lng)) setPoint(p, true);
  };
  lat.addEventListener("change", fromInputs);
  lon.addEventListener("change", fromInputs);
  category.addEventListener("change", () => {
    const chosen = cats.items.find((c) => c.code === category.value) || {};
    publishNote.textContent = chosen.publish_note ? pick(chosen.publish_note) : "";
    answerOf = renderQuestions(questionsBox, chosen.questions || []);
    refreshNearby();
  });

  function locate() {
    if (!navigator.geolocation) return (geoStatus.textContent = t("geo_failed"));
    geoStatus.textContent = t("locating");
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        geoStatus.textContent = "";
        setPoint(L.latLng(pos.coords.latitude, pos.coords.longitude), true);
      },
      () => (geoStatus.textContent = t("geo_failed")),
      { enableHighAccuracy: true, timeout: 10000 },
    );
  }

  // Which unit would receive it here (GET /v1/units/locate), with its boundary drawn: without map
  // tiles this is what tells a citizen where the pin is.
  let area = null;
  let asked = 0;
  async function showUnit() {
    const mine = ++asked; // only the latest answer counts
    try {
      const found = await api("/v1/units/locate" + qs({ lat: lat.value, lon: lon.value, category: category.value || "other" }));
      if (mine !== asked) return;
      const handler = found.handler || found.admin_unit;
      unitHint.textContent = handler ? `${t("unit")}: ${lang() === "vi" ? handler.name_vi : handler.name_en}` : "";
      const admin = found.admin_unit && found.admin_unit.code;
      if (admin && (!area || area.code !== admin)) {
        const unit = await api("/v1/units/" + encodeURIComponent(admin));
        if (mine !== asked) return;
        if (area) area.layer.remove();
        area = unit.boundary ? { code: admin, layer: L.geoJSON(unit.boundary, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.05 }, interactive: false }).addTo(map) } : null;
      }
    } catch {
      if (mine === asked) unitHint.textContent = "";
    }
  }

  let nearbyTimer = null;
  let nearbyAsked = 0;
  function refreshNearby() {
    clearTimeout(nearbyTimer);
    nearbyTimer = setTimeout(async () => {
      showUnit();
      if (!category.value) return mount(nearby);
      const mine = ++nearbyAsked;
      try {
        const found = await api("/v1/reports/nearby" + qs({ lat: lat.value, lon: lon.value, category: category.value, radius: 200 }));
        if (mine !== nearbyAsked) return;
        const items = found.items || [];
        if (!items.length) return mount(nearby);
        mount(
          nearby,
          h("h2", {}, t("nearby_title")),
          h("p", { class: "hint" }, t("nearby_lead")),
          h("ul", { class: "cards" }, items.map((r) => h("li", { class: "card" },
            h("p", {}, statusBadge(r.status), " ", h("a", { href: "#/track/" + r.tracking_code }, r.tracking_code), " · ",
              t("metres_away", { n: Math.round(r.distance_m ?? 0) })),
            h("p", {}, r.description),
            followButton(r),
          ))),
        );
      } catch {
        mount(nearby);
      }
    }, 300);
  }

  // Photos are shrunk as soon as they are chosen (photos.js); the list shows the size that will go up.
  let chosen = [];
  let prepared = Promise.resolve([]);
  files.addEventListener("change", () => {
    chosen = Array.from(files.files || []);
    if (chosen.length > MAX_FILES) {
      mount(fileList, h("li", { class: "alert error", role: "alert" }, t("too_many_files")));
      chosen = [];
      files.value = "";
      prepared = Promise.resolve([]);
      return;
    }
    const items = chosen.map((f) => h("li", {}, `${f.name} (${kb(f.size)})`));
    mount(fileList, items, chosen.length ? h("li", { class: "muted", role: "status" }, t("preparing_photos")) : null);
    const mine = (prepared = Promise.all(chosen.map((f) => preparePhoto(f))));
    mine.then((ready) => {
      if (mine !== prepared) return;
      mount(fileList, ready.map((p, i) => h("li", { class: "prepared", "data-bytes": String(p.blob.size) },
        `${chosen[i].name} (${p.blob === chosen[i] ? kb(p.blob.size) : `${kb(chosen[i].size)} → ${kb(p.blob.size)}`})`)));
    });
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    submitBtn.disabled = true;
    mount(out, h("p", { role: "status" }, t("preparing_photos")));
    const ready = await prepared;
    mount(out, h("p", { role: "status" }, t("sending")));
    const body = {
      category: category.value,
      description: description.value.trim(),
      lat: Number(lat.value),
      lon: Number(lon.value),
      anonymous: anonymous.checked,
      // The position each photo's EXIF held before it was shrunk goes with its item.
      media: ready.map((p) => ({ content_type: p.type || "application/octet-stream", size: p.blob.size, ...(p.lat !== undefined ? { lat: p.lat, lon: p.lon } : {}) })),
    };
    if (address.value.trim()) body.address = address.value.trim();
    const answers = answerOf();
    if (Object.keys(answers).length) body.answers = answers;
    // Kept on the phone first (with its key and its photos): if the connection is gone, it goes later.
    let kept = true;
    try {
      await saveDraft({ key: idempotencyKey, body, files: ready.map(({ blob, type, name }) => ({ blob, type, name })) });
    } catch {
      kept = false; // no IndexedDB (private mode): sent now or not at all
    }
    const bars = ready.map((p) => h("progress", { max: 1, value: 0, "aria-label": `${t("uploading")} ${p.name}` }));
    const notes = ready.map(() => h("span", { class: "muted" }));
    let sent;
    try {
      if (!kept) throw new NetworkError();
      sent = await sendDraft(idempotencyKey, {
        onProgress: (i, p) => {
          if (!bars[i].isConnected) mount(fileList, ready.map((f, j) => h("li", {}, f.name, " ", bars[j], " ", notes[j])));
          bars[i].value = p;
        },
        onRetry: (i, n) => (notes[i].textContent = t("upload_retrying", { n })),
      });
    } catch (err) {
      submitBtn.disabled = false;
      if (err.status === 401) return go("/signin?next=/submit");
      if (err instanceof NetworkError && kept) {
        return mount(main, h("h1", {}, t("submit_title")),
          h("p", { class: "alert", role: "status", id: "saved-offline" }, t("saved_offline")));
      }
      if (kept && !(err instanceof NetworkError) && err.status >= 400 && err.status < 500 && err.status !== 429) await dropDraft(idempotencyKey);
      return mount(out, errorBox(err));
    }
    if (!sent || sent.state !== "sent") { // refused meanwhile (sent by another tab): its reason is in the list above
      submitBtn.disabled = false;
      return mount(out, errorBox(new Error(sent && sent.message ? sent.message : t("network_error"))));
    }
    mount(
      main,
      h("h1", {}, t("submitted_title")),
      h("section", { class: "card done" },
        h("p", {}, t("your_code")),
        h("p", { class: "code", id: "tracking-code" }, sent.report.code),
        h("p", {}, t("keep_code")),
        sent.missing ? h("p", { class: "alert error", role: "alert", id: "uploads-missing" }, t("uploads_missing_after")) : null,
        h("a", { class: "button", href: "#/track/" + sent.report.code }, t("track_it")),
      ),
    );
  });
  refreshNearby();
  return () => map.remove();
}

// What this page followed or unfollowed: the public nearby list, fetched again as the pin moves, does
// not know it, and a list drawn after the click must not show the old state.
const followChanges = new Map();

function followButton(report) {
  if (!user()) return null;
  let on = followChanges.has(report.id) ? followChanges.get(report.id) : !!report.following;
  const btn = h("button", { type: "button", class: "secondary", "aria-pressed": String(on) }, on ? t("following") : t("follow"));
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await api(`/v1/reports/${report.id}/follow`, { method: on ? "DELETE" : "POST", auth: true });
      on = !on;
      followChanges.set(report.id, on);
      btn.textContent = on ? t("following") : t("follow");
      btn.setAttribute("aria-pressed", String(on));
    } catch (err) {
      btn.after(errorBox(err));
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

// ---------------------------------------------------------------- track

const unitNames = new Map();
export async function unitName(code) {
  if (!code) return "—";
  if (!unitNames.has(code)) {
    unitNames.set(code, api("/v1/units/" + encodeURIComponent(code)).then((u) => ({ vi: u.name_vi, en: u.name_en })).catch(() => null));
  }
  const name = await unitNames.get(code);
  return name ? `${pick(name)} (${code})` : code;
}

function dueLine(labelKey, due, met) {
  const state = met === true ? t("met") : met === false ? t("missed") : t("pending");
  const cls = met === true ? "ok" : met === false ? "bad" : "muted";
  return [h("dt", {}, t(labelKey)), h("dd", {}, when(due), " ", due ? h("span", { class: cls }, `(${state})`) : null)];
}

// Event data values are strings, {text} or {vi, en}.
function plain(v) {
  if (!v || typeof v !== "object" || Array.isArray(v)) return v;
  if (v.vi || v.en) return pick(v) + (v.text ? ` — ${v.text}` : "");
  return v.text ?? "";
}

export function eventText(e) {
  const raw = e.data || {};
  const d = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, k === "evidence" ? v : plain(v)]));
  const bits = [];
  if (d.reason) bits.push(REFUSAL[d.reason] ? label(REFUSAL, d.reason) : d.reason);
  // Units by name where the API names them (public timelines); a code only where no name is known.
  if (d.to_unit) bits.push("→ " + (raw.to_unit_name ? pick(raw.to_unit_name) : d.to_unit));
  if (d.unit_code && e.type === "routed") bits.push(raw.unit_name ? pick(raw.unit_name) : d.unit_code);
  if (d.priority) bits.push(d.priority);
  if (d.answer) bits.push(d.answer);
  if (d.note) bits.push(d.note);
  if (d.question) bits.push(d.question);
  if (d.text) bits.push(d.text);
  if (d.stars) bits.push(`${"★".repeat(d.stars)} ${d.stars}/5` + (d.satisfied === false ? ` (${t("not_satisfied")})` : ""));
  return bits.join(" · ");
}

export function timelineList(events, showActor = false) {
  return h(
    "ol",
    { class: "timeline" },
    events.map((e) =>
      h("li", { class: e.public === false ? "internal" : "" },
        h("time", { datetime: e.at }, when(e.at)), " ",
        h("strong", {}, label(EVENTS, e.type)),
        e.status ? [" ", statusBadge(e.status)] : null,
        showActor && e.by ? h("span", { class: "muted by" }, ` — ${t("by")} ${label(ROLES, e.by)}`) : null,
        e.public === false ? h("span", { class: "tag" }, t("internal")) : null,
        eventText(e) ? h("p", {}, eventText(e)) : null,
      ),
    ),
  );
}

// How often an open tracking page asks whether the report changed (a 304 costs one report read); hidden
// tabs do not ask and ask at once when shown again. A page may set window.CIVIC_POLL_MS (tests do).
const POLL_MS = () => window.CIVIC_POLL_MS || 30_000;

export async function trackPage(main, { params, go }) {
  const code = h("input", { name: "code", autocomplete: "off", placeholder: "HN-4K7Q2M", required: true, value: params[0] || "" });
  const out = h("div", { id: "track-result", "aria-live": "polite" });
  mount(
    main,
    h("h1", {}, t("track_title")),
    h("form", { class: "inline", onsubmit: (e) => (e.preventDefault(), go("/track/" + encodeURIComponent(code.value.trim()))) },
      field(t("tracking_code"), code), h("button", { type: "submit" }, t("track_btn"))),
    out,
  );
  if (!params[0]) return;
  mount(out, loading());
  const path = "/v1/track/" + encodeURIComponent(params[0]);
  let etag = null;
  let report;
  try {
    ({ etag, data: report } = await poll(path, null));
  } catch (err) {
    if (err.status !== 404) return mount(out, errorBox(err));
    // Hidden or not yet public: its author, signed in, still sees it (from My reports).
    const own = user() && err.code === "not_public" ? await ownByCode(params[0]) : null;
    if (!own) return mount(out, h("p", { class: "alert error", role: "alert" }, t(err.code === "not_public" ? "not_public" : "not_found")));
    report = { ...own, timeline: [] };
  }
  let drop = await renderTracked(out, report, () => trackPage(main, { params, go }));
  if (!etag) return drop;

  // Polling: re-render when the report changed, unless the person is filling a form on the page (then
  // a note offers the update instead of wiping what they typed).
  let timer = null;
  let stopped = false;
  const schedule = () => {
    clearTimeout(timer);
    if (!stopped && document.visibilityState === "visible") timer = setTimeout(check, POLL_MS());
  };
  const check = async () => {
    if (stopped || !out.isConnected) return;
    try {
      const found = await poll(path, etag);
      if (found.changed && !stopped && out.isConnected) {
        etag = found.etag;
        const busy = out.contains(document.activeElement) && document.activeElement.closest("form");
        const show = async () => {
          drop();
          drop = await renderTracked(out, found.data, () => trackPage(main, { params, go }));
          out.prepend(h("p", { class: "alert ok updated-note", role: "status" }, t("updated_now")));
        };
        if (busy) {
          out.querySelector(".updated-note")?.remove();
          out.prepend(h("p", { class: "alert updated-note", role: "status" }, t("updated_now"), " ",
            h("button", { type: "button", class: "secondary", onclick: show }, t("show_update"))));
        } else {
          await show();
        }
      }
    } catch {
      /* offline or gone: try again at the next turn */
    }
    schedule();
  };
  const onVisibility = () => (document.visibilityState === "visible" ? check() : clearTimeout(timer));
  document.addEventListener("visibilitychange", onVisibility);
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
    drop();
  };
}

/** The tracking page's report, its result, the author's panel and the timeline; returns its cleanup. */
async function renderTracked(out, report, reload) {
  // The author, signed in, also gets the owner view: a question from the unit, and the rating form.
  let mine = null;
  if (user()) mine = await api("/v1/reports/" + report.id, { auth: true }).catch(() => null);
  const evidenceIds = new Set(report.timeline.flatMap((e) => (e.data && e.data.evidence) || []));
  const photos = report.media.filter((m) => !evidenceIds.has(m.media_id));
  const evidence = report.media.filter((m) => evidenceIds.has(m.media_id));
  const mapEl = h("div", { class: "map tiny", "aria-hidden": "true" });
  const handler = report.unit_name || (mine && mine.unit_name);
  mount(
    out,
    h("section", { class: "card report" },
      h("h2", {}, report.tracking_code, " ", statusBadge(report.status)),
      h("dl", { class: "facts" },
        h("dt", {}, t("category")), h("dd", {}, pick(report.category_name) || report.category),
        // The unit by name: citizens do not know unit codes.
        h("dt", {}, t("unit")), h("dd", { id: "unit-name" }, handler ? pick(handler) : report.unit_code || "—"),
        h("dt", {}, t("created")), h("dd", {}, when(report.created_at)),
        dueLine("accept_due", report.accept_due_at, report.accepted_on_time),
        dueLine("resolve_due", report.due_at, report.resolved_on_time),
        mine && mine.followers !== undefined ? [h("dt", {}, t("followers")), h("dd", {}, String(mine.followers))] : null,
      ),
      h("p", { class: "description" }, report.description),
      report.address ? h("p", { class: "muted" }, report.address) : null,
      report.location.precision === "approximate" ? h("p", { class: "muted" }, t("approximate")) : null,
      mapEl,
      photos.length ? [h("h3", {}, t("photos")), gallery(photos, t("photos"))] : null,
    ),
    report.result
      ? h("section", { class: "card result", id: "result" },
        h("h2", {}, t("result")),
        h("p", {}, report.result.answer),
        h("p", { class: "muted" }, when(report.result.resolved_at)),
        evidence.length ? [h("h3", {}, t("evidence")), gallery(evidence, t("evidence"))] : null)
      : null,
    mine && mine.is_owner ? ownerPanel(mine, reload) : null,
    mine && !mine.is_owner && !["resolved", "closed", "refused"].includes(report.status) ? h("p", {}, followButton(mine)) : null,
    mine && !mine.is_owner ? flagForm(mine) : null,
    h("section", { class: "card" }, h("h2", {}, t("timeline")), timelineList(report.timeline)),
  );
  const map = newMap(mapEl, { center: [report.location.lat, report.location.lon], zoom: 15 });
  pin([report.location.lat, report.location.lon]).addTo(map);
  // The small map only repeats the place (hidden from screen readers): nothing in it may take the focus
  // either (axe: aria-hidden-focus), so Leaflet's container, zoom buttons, links and pin leave the tab order.
  for (const el of [mapEl, ...mapEl.querySelectorAll("a, button, [tabindex]")]) el.setAttribute("tabindex", "-1");
  return () => map.remove();
}

/** The author's own report by tracking code (GET /v1/track answers 404 while it is not public). */
async function ownByCode(code) {
  const wanted = code.trim().toUpperCase();
  const data = await api("/v1/me/reports?limit=100", { auth: true }).catch(() => ({ items: [] }));
  return data.items.find((r) => r.tracking_code === wanted) || null;
}

/** Report abuse: a reason from the server's list, once per account. */
function flagForm(report) {
  const out = h("div", { "aria-live": "polite" });
  const reason = select("reason", FLAG_REASONS.map(([code, name]) => [code, pick(name)]));
  const note = h("textarea", { name: "text", rows: 2, maxlength: 500 });
  const form = h("form", {
    class: "action", id: "flag-form",
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api(`/v1/reports/${report.id}/flags`, {
          method: "POST", auth: true, body: { reason: reason.value, ...(note.value.trim() ? { text: note.value.trim() } : {}) },
        });
        mount(out, h("p", { class: "alert ok", role: "status" }, t("flag_sent")));
      } catch (err) {
        mount(out, errorBox(err));
      }
    },
  }, field(t("reason"), reason), field(t("details"), note), h("button", { type: "submit", class: "secondary" }, t("flag_btn")), out);
  return h("details", { class: "card action-box" }, h("summary", {}, t("flag_title")), form);
}

/** The author's photos that have not arrived (the upload was cut, or the phone was offline): each one is
 * uploaded again from this page, from the copy kept on this phone or from a file chosen again. */
function missingPhotos(mine) {
  const pending = mine.media.filter((m) => m.status === "pending" && m.role === "report");
  if (!pending.length) return null;
  return h("section", { class: "card", id: "missing-photos" },
    h("h2", {}, t("missing_title")),
    h("p", { class: "hint" }, t("missing_lead")),
    h("ul", { class: "files" }, pending.map((m, i) => h("li", { "data-media-id": m.media_id }, missingRow(mine, m, i + 1)))));
}

function missingRow(report, item, n) {
  const out = h("span", { "aria-live": "polite" });
  const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": `${t("uploading")} ${t("missing_item", { n })}` });
  const send = async (blob) => {
    bar.hidden = false;
    mount(out);
    try {
      await uploadMedia(report.id, item.media_id, blob, { onProgress: (p) => (bar.value = p), onRetry: (k) => (out.textContent = t("upload_retrying", { n: k })) });
      await forgetFile(report.id, item.media_id);
      mount(row, h("span", { class: "ok", role: "status" }, t("missing_item", { n }), ": ", t("uploaded_wait")));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) await forgetFile(report.id, item.media_id);
      mount(out, errorBox(err));
    }
  };
  const again = h("button", { type: "button", hidden: true }, t("upload_again"));
  const picker = h("input", { type: "file", name: `again-${item.media_id}`, accept: item.content_type });
  picker.addEventListener("change", async () => {
    const file = picker.files && picker.files[0];
    if (!file) return;
    // Shrunk like the first time, and it must fit what was declared (type and size).
    const ready = item.content_type === "image/jpeg" ? await preparePhoto(file, { maxBytes: Math.min(item.size || Infinity, 600 * 1024) }) : { blob: file, type: file.type };
    if (ready.type !== item.content_type || (item.size && ready.blob.size > item.size)) {
      return mount(out, h("span", { class: "alert error", role: "alert" }, t("file_too_big_for_slot")));
    }
    send(ready.blob);
  });
  const row = h("span", {}, `${t("missing_item", { n })} `, again, " ", field(t("choose_again"), picker), " ", bar, " ", out);
  missingFile(report.id, item.media_id).then((kept) => {
    if (!kept) return;
    again.hidden = false;
    again.addEventListener("click", () => (again.disabled = true, send(kept.blob).finally(() => (again.disabled = false))));
  });
  return row;
}

function ownerPanel(mine, reload) {
  const parts = [missingPhotos(mine)];
  if (mine.hidden) {
    parts.push(h("p", { class: "alert", id: "hidden-notice", role: "status" }, t("hidden_notice"), ": ", pick(mine.hidden)));
  }
  if (mine.question && mine.question.text) {
    const reply = h("textarea", { name: "reply", rows: 3, required: true, maxlength: 4000 });
    const out = h("div", { "aria-live": "polite" });
    parts.push(h("form", {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api(`/v1/reports/${mine.id}/reply`, { method: "POST", body: { text: reply.value }, auth: true });
          reload();
        } catch (err) {
          mount(out, errorBox(err));
        }
      },
    }, h("h2", {}, t("question_from_unit")), h("p", {}, mine.question.text), field(t("your_reply"), reply), h("button", { type: "submit" }, t("send")), out));
  }
  const ratable = mine.status === "resolved" || (mine.status === "closed" && mine.rating);
  if (mine.rating) {
    parts.push(h("p", { class: "card", id: "my-rating" }, t("your_rating"), ": ", "★".repeat(mine.rating.stars), ` ${mine.rating.stars}/5 `,
      mine.rating.satisfied ? t("yes_satisfied") : t("not_satisfied")));
  }
  if (ratable && mine.result) {
    const stars = h("fieldset", { class: "stars" }, h("legend", {}, t("stars")),
      [1, 2, 3, 4, 5].map((n) => h("label", {}, h("input", { type: "radio", name: "stars", value: String(n), required: true, checked: mine.rating ? mine.rating.stars === n : false }), ` ${n}★`)));
    const satisfied = h("fieldset", {}, h("legend", {}, t("satisfied_q")),
      h("label", {}, h("input", { type: "radio", name: "satisfied", value: "yes", required: true, checked: mine.rating ? mine.rating.satisfied : false }), " ", t("yes_satisfied")),
      h("label", {}, h("input", { type: "radio", name: "satisfied", value: "no", checked: mine.rating ? !mine.rating.satisfied : false }), " ", t("not_satisfied")));
    const comment = h("textarea", { name: "comment", rows: 2, maxlength: 1000 });
    const out = h("div", { "aria-live": "polite" });
    parts.push(h("form", {
      class: "card", id: "rate-form",
      onsubmit: async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const body = {
          satisfied: form.elements.satisfied.value === "yes",
          stars: Number(form.elements.stars.value),
        };
        if (comment.value.trim()) body.comment = comment.value.trim();
        try {
          await api(`/v1/reports/${mine.id}/rating`, { method: "POST", body, auth: true });
          mount(out, h("p", { class: "alert ok", role: "status" }, t("thanks_rating")));
          setTimeout(reload, 600);
        } catch (err) {
          mount(out, errorBox(err));
        }
      },
    }, h("h2", {}, t("rate_title")), satisfied, stars, field(t("comment"), comment), h("button", { type: "submit" }, t("rate_btn")), out));
  }
  return parts;
}

// ---------------------------------------------------------------- my reports

export async function myReportsPage(main, { go }) {
  if (!user()) return go("/signin?next=/mine");
  mount(main, h("h1", {}, t("nav_mine")), loading());
  try {
    const data = await api("/v1/me/reports?limit=50", { auth: true });
    mount(main, h("h1", {}, t("nav_mine")),
      data.items.length
        ? h("ul", { class: "cards" }, data.items.map((r) => h("li", { class: "card" },
          h("p", {}, h("a", { href: "#/track/" + r.tracking_code }, r.tracking_code), " ", statusBadge(r.status), " ", h("span", { class: "muted" }, when(r.created_at))),
          h("p", {}, r.description))))
        : h("p", {}, t("no_reports")));
  } catch (err) {
    mount(main, h("h1", {}, t("nav_mine")), errorBox(err));
  }
}

export { ApiError, STATUS };
