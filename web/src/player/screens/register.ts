// register.ts: registration (POST /api/v1/players), then logging in with the same
// credentials. The server checks every rule and names the field it refuses.
import { h } from "../../lib/dom";
import { field, formError, onSubmit } from "../../lib/form";
import type { Screen } from "../../lib/router";
import { BRAND, type PlayerApp, type PlayerSession } from "../app";

const CURRENCIES: Array<[string, string]> = [["EUR", "Euro (EUR)"], ["USD", "US dollar (USD)"], ["GBP", "Pound sterling (GBP)"]];

export const registerScreen: Screen<PlayerApp> = {
  title: "Create an account",
  render({ app, navigate }) {
    const form = h("form", { "aria-labelledby": "register-title" },
      field({ name: "email", label: "E-mail", type: "email", required: true, autocomplete: "email" }),
      field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "new-password",
        hint: "At least 10 characters; not a common password." }),
      field({ name: "date_of_birth", label: "Date of birth", type: "date", required: true, autocomplete: "bday" }),
      field({ name: "country", label: "Country (two-letter code)", required: true, autocomplete: "country",
        maxlength: 2, value: "DE", hint: "For example DE, FR, GB." }),
      field({ name: "currency", label: "Currency", options: CURRENCIES, value: "EUR" }),
      formError(),
      h("button", { type: "submit" }, "Create account"));
    onSubmit(form, async (v) => {
      await app.api.post("/players", {
        brand: BRAND, email: v.email, password: v.password, date_of_birth: v.date_of_birth,
        country: v.country.trim().toUpperCase(), currency: v.currency,
      });
      const s = await app.api.post<PlayerSession>("/sessions", { brand: BRAND, email: v.email, password: v.password });
      await app.login(s);
      navigate("/");
    });
    return h("section", { class: "card" },
      h("h1", { id: "register-title" }, "Create an account"),
      form,
      h("p", {}, "Already registered? ", h("a", { href: "/login" }, "Log in")));
  },
};
