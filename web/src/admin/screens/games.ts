// games.ts: game management. In-house games (games.manage): enabled, the RTP variant among
// those offered, and per-currency stake limits, written with a reason (audited) through
// PUT /admin/games/{id}/config. The providers' catalog (providers.manage): every entry,
// disabled ones too, with search; a provider game is switched on or off by writing its entry
// back with a reason (PUT /admin/providers/{p}/games/{external_id}).
import { ApiError } from "../../lib/api";
import { h, replace, formatTime } from "../../lib/dom";
import { describe, field, formError, onSubmit } from "../../lib/form";
import { exponentOf, formatMinor, parseMajor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { CatalogGame, Game, GameConfig, StakeLimits } from "../../lib/types";
import type { StaffApp } from "../app";

const ppmText = (ppm: number) => `${(ppm / 10000).toFixed(4)}%`;

function major(m: number, currency: string): string {
  return formatMinor(m, exponentOf(currency), "").trim().replace(/,/g, "");
}

function configCard(app: StaffApp, game: Game, cfg: GameConfig): HTMLElement {
  const enc = encodeURIComponent(game.id);
  const out = h("p", { class: "ok", role: "status" });
  const limitsText = cfg.limits.map((l) => `${l.currency} ${major(l.min_stake_minor, l.currency)}-${major(l.max_stake_minor, l.currency)}`).join("\n");
  const form = h("form", { "aria-label": `Configure ${game.name}` },
    h("div", { class: "check" }, h("input", { type: "checkbox", id: `en-${game.id}`, name: "enabled", checked: cfg.enabled }),
      h("label", { for: `en-${game.id}` }, "Enabled (players can play it)")),
    field({ name: "rtp_ppm", label: "Return to player", options: cfg.rtp_ppm_offered.map((p) => [String(p), ppmText(p)]), value: String(cfg.rtp_ppm) }),
    h("div", { class: "field", "data-field": "limits" },
      h("label", { for: `lim-${game.id}` }, "Stake limits per currency"),
      h("p", { class: "hint", id: `lim-${game.id}-hint` }, "One per line: CURRENCY MIN-MAX, e.g. EUR 0.10-500.00. Other currencies use the defaults."),
      h("textarea", { id: `lim-${game.id}`, name: "limits", rows: 3, "aria-describedby": `lim-${game.id}-hint` }, limitsText),
      h("p", { class: "error", role: "alert", hidden: true })),
    field({ name: "reason", label: "Reason", required: true, maxlength: 500 }),
    formError(), out, h("button", { type: "submit" }, "Save configuration"));
  onSubmit(form, async (v) => {
    out.textContent = "";
    const limits: StakeLimits[] = [];
    for (const line of (v.limits ?? "").split("\n").map((x) => x.trim()).filter(Boolean)) {
      const m = /^([A-Z]{3,5})\s+([\d.]+)\s*-\s*([\d.]+)$/.exec(line);
      const e = m ? exponentOf(m[1]) : 2;
      const min = m ? parseMajor(m[2], e) : null, max = m ? parseMajor(m[3], e) : null;
      if (!m || min === null || max === null || min < 1 || max < min) {
        throw new ApiError(400, "validation_failed", `"${line}" is not CURRENCY MIN-MAX with MIN <= MAX`, "limits");
      }
      limits.push({ currency: m[1], min_stake_minor: min, max_stake_minor: max });
    }
    const saved = await app.api.put<GameConfig>(`/admin/games/${enc}/config`, {
      enabled: (form.elements.namedItem("enabled") as HTMLInputElement).checked, rtp_ppm: Number(v.rtp_ppm), limits, reason: v.reason });
    (form.elements.namedItem("reason") as HTMLInputElement).value = "";
    out.textContent = `Saved (${saved.enabled ? "enabled" : "disabled"}, RTP ${ppmText(saved.rtp_ppm)}).`;
  });
  return h("li", { "data-game": game.id },
    h("div", { class: "entry-head" }, h("strong", {}, game.name), h("span", { class: "muted" }, game.kind),
      h("span", { class: "hint" }, cfg.updated_at ? `changed ${formatTime(cfg.updated_at)} by ${cfg.updated_by}` : "defaults")),
    h("details", {}, h("summary", {}, "Edit"), form));
}

function catalogTable(app: StaffApp, games: CatalogGame[]): HTMLElement {
  return h("div", { class: "table-wrap" }, h("table", { "data-testid": "admin-catalog" },
    h("thead", {}, h("tr", {}, ...["Game", "Provider", "Category", "RTP", "State"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...games.map((g) => {
      const state = h("td", {});
      const draw = (cur: CatalogGame) => {
        if (cur.provider === "pitboss") {
          replace(state, cur.enabled ? "enabled" : "disabled", h("br"), h("span", { class: "hint" }, "in-house: configure above"));
          return;
        }
        const reason = h("input", { name: "reason", required: true, maxlength: 200, "aria-label": `Reason to switch ${cur.name} ${cur.enabled ? "off" : "on"}` });
        const f = h("form", { class: "row" }, reason, formError(),
          h("button", { type: "submit", class: cur.enabled ? "secondary" : "" }, cur.enabled ? "Disable" : "Enable"));
        onSubmit(f, async (v) => {
          const { game_id: _id, provider, external_id, ...rest } = cur;
          void _id;
          const saved = await app.api.put<CatalogGame>(`/admin/providers/${encodeURIComponent(provider)}/games/${encodeURIComponent(external_id)}`,
            { ...rest, enabled: !cur.enabled, reason: v.reason });
          draw(saved);
        });
        replace(state, h("span", {}, cur.enabled ? "enabled" : "disabled"), app.can("providers.manage") ? f : null);
      };
      draw(g);
      return h("tr", {}, h("td", {}, g.name, h("br"), h("code", { class: "hint" }, g.game_id)), h("td", {}, g.provider),
        h("td", {}, g.category), h("td", {}, g.rtp_bp ? `${(g.rtp_bp / 100).toFixed(2)}%` : "-"), state);
    }))));
}

export const gamesScreen: Screen<StaffApp> = {
  title: "Games",
  async render({ app }) {
    const sections: HTMLElement[] = [];
    if (app.can("games.manage")) {
      const { games } = await app.api.get<{ games: Game[] }>("/games");
      const items = await Promise.all(games.map(async (g) => {
        try {
          return configCard(app, g, await app.api.get<GameConfig>(`/admin/games/${encodeURIComponent(g.id)}/config`));
        } catch (e) {
          return h("li", {}, h("strong", {}, g.name), h("p", { class: "error", role: "alert" }, describe(e)));
        }
      }));
      sections.push(h("div", { class: "card" }, h("h2", {}, "In-house games"), h("ul", { class: "entries" }, ...items)));
    }
    if (app.can("providers.manage")) {
      const box = h("div", {});
      const q = h("input", { id: "cat-q", name: "q", type: "search", maxlength: 64 });
      const search = h("form", { role: "search", class: "row" }, h("label", { for: "cat-q" }, "Search the catalog"), q,
        h("button", { type: "submit", class: "secondary" }, "Search"));
      const load = async () => {
        try {
          const r = await app.api.get<{ games: CatalogGame[] }>("/admin/catalog", { q: q.value.trim() });
          replace(box, r.games.length ? catalogTable(app, r.games) : h("p", {}, "No catalog game matches."));
        } catch (e) {
          replace(box, h("p", { class: "error", role: "alert" }, describe(e)));
        }
      };
      search.addEventListener("submit", (e) => { e.preventDefault(); void load(); });
      await load();
      sections.push(h("div", { class: "card" }, h("h2", {}, "Catalog"), search, box));
    }
    return h("section", {}, h("h1", {}, "Games"), ...sections);
  },
};
