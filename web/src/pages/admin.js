// Operators' page (the admin group): the units, and the staff — invite, move, disable, enable — for
// those who do not use a terminal. The same use cases as `civic staff …`.
import { api, user } from "../api.js";
import { pick, t } from "../i18n.js";
import { errorBox, field, h, loading, mount, select } from "../ui.js";

const ROLES = ["officer", "leader", "coordinator", "moderator", "admin"];
const unitList = (raw) => raw.split(/[\s,;]+/).map((u) => u.trim()).filter(Boolean);

export async function adminPage(main, { go }) {
  const u = user();
  if (!u) return go("/signin?next=/admin");
  if (!u.groups.includes("admin")) return mount(main, h("h1", {}, t("admin_title")), h("p", { class: "alert error" }, t("admin_only")));
  const staffBox = h("div", { id: "staff", "aria-live": "polite" });
  const unitsBox = h("div", { id: "units" });
  const out = h("div", { "aria-live": "polite" });
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const role = select("role", ROLES.map((r) => [r, r]), "officer");
  const units = h("input", { name: "units", placeholder: "DEMO-W01 DEMO-W02" });
  const name = h("input", { name: "name", maxlength: 200 });
  mount(
    main,
    h("h1", {}, t("admin_title")),
    h("section", { class: "card" },
      h("h2", {}, t("invite_staff")),
      h("form", {
        id: "invite-form",
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const saved = await api("/v1/admin/staff", {
              method: "POST", auth: true,
              body: { email: email.value.trim(), role: role.value, units: unitList(units.value), ...(name.value.trim() ? { name: name.value.trim() } : {}) },
            });
            mount(out, h("p", { class: "alert ok", role: "status" }, `${saved.email}: ${t("done")}`,
              saved.temporary_password ? [" — ", t("temporary_password"), ": ", h("code", { id: "temporary-password" }, saved.temporary_password)] : ""));
            loadStaff();
          } catch (err) {
            mount(out, errorBox(err));
          }
        },
      }, field(t("email"), email), field(t("role"), role), field(t("units_codes"), units), field(t("display_name"), name),
      h("button", { type: "submit" }, t("invite_staff")), out)),
    h("section", { class: "card" }, h("h2", {}, t("staff_title")), staffBox),
    h("section", { class: "card" }, h("h2", {}, t("units_title")), unitsBox),
  );

  async function act(path, body, box) {
    try {
      await api(path, { method: "POST", auth: true, body });
      loadStaff();
    } catch (err) {
      mount(box, errorBox(err));
    }
  }

  async function loadStaff() {
    mount(staffBox, loading());
    try {
      const data = await api("/v1/admin/staff", { auth: true });
      mount(staffBox, h("table", { class: "staff" },
        h("thead", {}, h("tr", {}, [t("email"), t("role"), t("units_codes"), t("state"), ""].map((c) => h("th", {}, c)))),
        h("tbody", {}, data.items.map((m) => {
          const note = h("span", { "aria-live": "polite" });
          const moveTo = h("input", { name: "units", value: m.units.join(" "), "aria-label": `${t("units_codes")} ${m.email}` });
          return h("tr", { dataset: { email: m.email } },
            h("td", {}, m.email, m.name ? h("div", { class: "muted" }, m.name) : null),
            h("td", {}, m.role),
            h("td", {}, moveTo, h("button", { type: "button", class: "secondary", onclick: () => act("/v1/admin/staff", { email: m.email, role: m.role, units: unitList(moveTo.value) }, note) }, t("move"))),
            h("td", {}, m.enabled ? t("active") : h("strong", { class: "bad" }, t("disabled"))),
            h("td", {}, h("button", { type: "button", class: m.enabled ? "danger" : "", onclick: () => act(`/v1/admin/staff/${m.enabled ? "disable" : "enable"}`, { email: m.email }, note) },
              m.enabled ? t("disable") : t("enable")), note));
        }))));
    } catch (err) {
      mount(staffBox, errorBox(err, loadStaff));
    }
  }

  loadStaff();
  try {
    const data = await api("/v1/admin/units", { auth: true });
    mount(unitsBox, h("ul", { class: "units" }, data.items.map((unit) => h("li", {}, h("code", {}, unit.code), " ", pick({ vi: unit.name_vi, en: unit.name_en }), ` (${unit.kind})`))));
  } catch (err) {
    mount(unitsBox, errorBox(err));
  }
}
