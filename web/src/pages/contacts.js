// Notification contacts: each email, phone and Zalo id shows whether it is confirmed; a pending one
// takes its code here. #/verify/<token> is the page the verification message links to.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { errorBox, field, h, loading, mount } from "../ui.js";

// The preferences field → the channel its code confirms (POST /v1/me/contacts/verify).
const CONTACTS = [
  ["email", "email", "contact_email", "email"],
  ["phone", "sms", "contact_phone", "tel"],
  ["zalo_user_id", "zalo", "contact_zalo", "text"],
];

const badge = (status) =>
  h("span", { class: `badge contact-${status}` }, t(status === "verified" ? "contact_verified" : status === "pending" ? "contact_pending" : "contact_unverified"));

export async function contactsPage(main, { go, rerender }) {
  mount(main, h("h1", {}, t("nav_contacts")), loading());
  let prefs;
  try {
    prefs = await api("/v1/me/preferences", { auth: true });
  } catch (err) {
    if (err.status === 401) return go("/signin?next=/contacts");
    return mount(main, h("h1", {}, t("nav_contacts")), errorBox(err));
  }
  const status = h("div", { role: "status", "aria-live": "polite" });
  const cards = CONTACTS.map(([name, channel, key, type]) => {
    const input = h("input", { name, type, value: prefs[name] || "", autocomplete: name === "email" ? "email" : "off" });
    const save = h("form", {
      class: "inline",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api("/v1/me/preferences", { method: "PUT", auth: true, body: { [name]: input.value.trim() || null } });
          rerender();
        } catch (err) {
          mount(status, errorBox(err));
        }
      },
    }, field(t(key), input), h("button", { type: "submit" }, t("contact_save")));
    const state = prefs.verification[name];
    let confirm = null;
    if (state === "pending") {
      const code = h("input", { name: `${name}_code`, inputmode: "numeric", pattern: "[0-9]{6}", maxlength: 6, autocomplete: "one-time-code", required: true });
      confirm = h("form", {
        class: "inline",
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api("/v1/me/contacts/verify", { method: "POST", auth: true, body: { channel, code: code.value.trim() } });
            rerender();
          } catch (err) {
            mount(status, errorBox(err));
          }
        },
      }, field(t("contact_code"), code), h("button", { type: "submit" }, t("contact_confirm")));
    }
    return h("li", { class: "card" }, save, state ? h("p", {}, badge(state)) : null, confirm);
  });
  mount(main, h("h1", {}, t("nav_contacts")), h("p", { class: "lead" }, t("contacts_lead")), status, h("ul", { class: "cards" }, cards));
}

export async function verifyPage(main, { params }) {
  mount(main, h("h1", {}, t("verify_title")), loading());
  try {
    await api("/v1/contacts/verify", { method: "POST", body: { token: params[0] } });
    mount(main, h("h1", {}, t("verify_title")), h("p", { class: "alert ok", role: "status" }, t("verify_done")));
  } catch (err) {
    mount(main, h("h1", {}, t("verify_title")), errorBox(err));
  }
}
