// players.ts: player search by e-mail prefix (personal data masked for roles without
// players.read_pii), paged.
import { h, replace, formatTime } from "../../lib/dom";
import { describe, field, formError, onSubmit } from "../../lib/form";
import type { Screen } from "../../lib/router";
import type { StaffPlayer } from "../../lib/types";
import type { StaffApp } from "../app";

export const playersScreen: Screen<StaffApp> = {
  title: "Players",
  render({ app, query }) {
    const results = h("div", { "aria-live": "polite" });
    const email = query.get("email") ?? "";
    const form = h("form", { role: "search", "aria-label": "Player search" },
      field({ name: "email", label: "E-mail starts with", type: "search", value: email }),
      formError(),
      h("button", { type: "submit" }, "Search"));
    async function search(prefix: string, cursor?: string): Promise<void> {
      const r = await app.api.get<{ players: StaffPlayer[]; next_cursor: string | null }>("/admin/players",
        { email: prefix, limit: 25, cursor });
      if (r.players.length === 0) {
        replace(results, h("p", {}, "No players found."));
        return;
      }
      replace(results, h("div", { class: "table-wrap" }, h("table", { "data-testid": "player-results" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "E-mail"), h("th", { scope: "col" }, "Country"),
          h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Registered"))),
        h("tbody", {}, ...r.players.map((p) => h("tr", {},
          h("td", {}, h("a", { href: `/admin/players/${encodeURIComponent(p.player_id)}` }, p.email)),
          h("td", {}, p.country), h("td", {}, p.status), h("td", {}, formatTime(p.created_at))))))),
        r.next_cursor ? h("button", { type: "button", class: "secondary",
          onclick: () => void search(prefix, r.next_cursor!).catch((e) => results.append(h("p", { class: "error" }, describe(e)))) },
        "Next page") : null);
    }
    onSubmit(form, async (v) => {
      history.replaceState(null, "", `/admin?email=${encodeURIComponent(v.email)}`);
      await search(v.email.trim());
    });
    if (!app.can("players.read")) {
      return h("section", {}, h("h1", {}, "Players"), h("p", {}, "Your role cannot read players."));
    }
    void search(email).catch((e) => replace(results, h("p", { class: "error", role: "alert" }, describe(e))));
    return h("section", {}, h("h1", {}, "Players"), h("div", { class: "card" }, form), results);
  },
};
