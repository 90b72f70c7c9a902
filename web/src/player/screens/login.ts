// login.ts: log in with e-mail and password, and the authenticator code when the account has
// TOTP enabled (the server answers totp_required; the code field then appears).
import { h } from "../../lib/dom";
import { field, formError, onSubmit } from "../../lib/form";
import { ApiError } from "../../lib/api";
import type { Screen } from "../../lib/router";
import { BRAND, type PlayerApp, type PlayerSession } from "../app";

export const loginScreen: Screen<PlayerApp> = {
  title: "Log in",
  render({ app, query, navigate }) {
    const totp = field({ name: "totp_code", label: "Authenticator code", inputmode: "numeric",
      autocomplete: "one-time-code", hint: "Six digits from your app, or a recovery code." });
    totp.hidden = true;
    const form = h("form", { novalidate: false, "aria-labelledby": "login-title" },
      field({ name: "email", label: "E-mail", type: "email", required: true, autocomplete: "username" }),
      field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "current-password" }),
      totp,
      formError(),
      h("button", { type: "submit" }, "Log in"));
    onSubmit(form, async (v) => {
      const body: Record<string, string> = { brand: BRAND, email: v.email, password: v.password };
      if (!totp.hidden && v.totp_code) body.totp_code = v.totp_code.trim();
      try {
        const s = await app.api.post<PlayerSession>("/sessions", body);
        await app.login(s);
      } catch (e) {
        if (e instanceof ApiError && e.code === "totp_required") totp.hidden = false;
        throw e;
      }
      const next = query.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    });
    return h("section", { class: "card" },
      h("h1", { id: "login-title" }, "Log in"),
      form,
      h("p", {}, "New here? ", h("a", { href: "/register" }, "Create an account")));
  },
};
