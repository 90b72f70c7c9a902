// login.ts: staff login: e-mail, password and the authenticator code (always required).
import { h } from "../../lib/dom";
import { field, formError, onSubmit } from "../../lib/form";
import type { Screen } from "../../lib/router";
import type { StaffApp, StaffSession } from "../app";

export const loginScreen: Screen<StaffApp> = {
  title: "Staff login",
  render({ app, query, navigate }) {
    const form = h("form", { "aria-labelledby": "staff-login-title" },
      field({ name: "email", label: "E-mail", type: "email", required: true, autocomplete: "username" }),
      field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "current-password" }),
      field({ name: "totp_code", label: "Authenticator code", required: true, inputmode: "numeric",
        autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6 }),
      formError(),
      h("button", { type: "submit" }, "Log in"));
    onSubmit(form, async (v) => {
      const s = await app.api.post<Omit<StaffSession, "email">>("/admin/sessions",
        { email: v.email, password: v.password, totp_code: v.totp_code.trim() });
      app.login({ ...s, email: v.email.trim().toLowerCase() });
      const next = query.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    });
    return h("section", { class: "card" }, h("h1", { id: "staff-login-title" }, "Staff login"), form);
  },
};
