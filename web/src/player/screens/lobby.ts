// lobby.ts: the start screen: the player's balances (kept live by the WebSocket push) and the
// game catalog (GET /catalog: in-house and providers' games for the player's brand and
// jurisdiction) with a search box and category filter. In-house games open their screen;
// providers' games launch through POST /catalog/{id}/launch (real money or demo).
import { ApiError } from "../../lib/api";
import { h, replace } from "../../lib/dom";
import { describe } from "../../lib/form";
import { formatMinor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { CatalogGame } from "../../lib/types";
import type { PlayerApp } from "../app";

// Table and live games are played through their own round routes and are not catalog
// entries: the lobby adds them (they open /blackjack, /baccarat, /crash).
const table = (id: string, name: string, category: string, tags: string[]): CatalogGame => ({ game_id: `pitboss:${id}`,
  provider: "pitboss", external_id: id, name, category, tags, rtp_bp: 0, volatility: "", jurisdictions: ["*"], brands: ["*"],
  enabled: true, ordering: 0 });
const TABLE_GAMES = [table("blackjack", "Blackjack", "table", ["cards"]), table("baccarat", "Baccarat", "table", ["cards", "punto banco"]),
  table("crash", "Crash", "live", ["multiplayer", "multiplier"])];
const OWN_SCREEN = new Set(TABLE_GAMES.map((g) => g.external_id));

export const lobbyScreen: Screen<PlayerApp> = {
  title: "Lobby",
  render({ app, signal, query }) {
    const list = h("dl", { class: "props", "data-testid": "balances" });
    const draw = () => replace(list, ...app.balances.flatMap((b) => [
      h("dt", {}, `${b.type[0].toUpperCase()}${b.type.slice(1)} (${b.currency})`),
      h("dd", { class: "balance", "data-account": b.type }, formatMinor(b.available_minor, b.exponent, b.currency)),
    ]));
    draw();
    app.watch(draw, signal);

    const q = h("input", { id: "lobby-q", name: "q", type: "search", maxlength: 64, value: query.get("q") ?? "",
      autocomplete: "off" });
    const category = h("select", { id: "lobby-cat", name: "category" }, h("option", { value: "" }, "All"));
    const games = h("ul", { class: "tiles", "data-testid": "catalog" });
    const count = h("p", { class: "hint", "aria-live": "polite" });
    let all: CatalogGame[] = [];
    let timer: number | undefined;

    function tile(g: CatalogGame): HTMLElement {
      const inHouse = g.provider === "pitboss";
      const href = g.provider === "pitboss" && OWN_SCREEN.has(g.external_id) ? `/${g.external_id}` : `/games/${encodeURIComponent(g.external_id)}`;
      const err = h("p", { class: "error", role: "alert", hidden: true });
      const launch = async (mode: "real" | "demo") => {
        err.hidden = true;
        try {
          const r = await app.api.post<{ url: string }>(`/catalog/${encodeURIComponent(g.game_id)}/launch`, { mode });
          window.open(r.url, "_blank", "noopener");
        } catch (e) {
          err.textContent = describe(e);
          err.hidden = false;
        }
      };
      return h("li", { class: "tile", "data-game": g.game_id },
        h("span", { class: "tile-cat" }, g.category),
        inHouse ? h("a", { href, class: "tile-name" }, g.name) : h("span", { class: "tile-name" }, g.name),
        h("span", { class: "hint" }, [g.rtp_bp ? `RTP ${(g.rtp_bp / 100).toFixed(2)}%` : "", g.volatility,
          inHouse ? "" : g.provider].filter(Boolean).join(" · ")),
        inHouse ? null : h("div", { class: "row" },
          h("button", { type: "button", onclick: () => void launch("real") }, "Play"),
          h("button", { type: "button", class: "secondary", onclick: () => void launch("demo") }, "Demo")),
        err);
    }

    async function load(): Promise<void> {
      const text = q.value.trim();
      try {
        const r = await app.api.get<{ games: CatalogGame[] }>("/catalog", { q: text, category: category.value });
        all = r.games;
      } catch (e) {
        replace(games, h("li", { class: "error", role: "alert" }, e instanceof ApiError ? describe(e) : String(e)));
        return;
      }
      const needle = text.toLowerCase();
      const extra = TABLE_GAMES.filter((g) => !all.some((x) => x.game_id === g.game_id) &&
        (!category.value || category.value === g.category) &&
        (!needle || [g.name, g.category, ...g.tags].some((t) => t.toLowerCase().includes(needle))));
      const shown = [...all, ...extra];
      if (category.options.length === 1) {
        for (const c of [...new Set([...all.map((g) => g.category), ...TABLE_GAMES.map((g) => g.category)])].sort()) {
          category.append(h("option", { value: c }, c));
        }
      }
      replace(games, ...shown.map(tile));
      count.textContent = shown.length === 0 ? "No game matches." : `${shown.length} game${shown.length > 1 ? "s" : ""}.`;
    }
    q.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        history.replaceState(null, "", q.value.trim() ? `/?q=${encodeURIComponent(q.value.trim())}` : "/");
        void load();
      }, 250);
    });
    category.addEventListener("change", () => void load());
    signal.addEventListener("abort", () => window.clearTimeout(timer));
    void load();

    return h("section", {},
      h("h1", {}, "Lobby"),
      h("div", { class: "card" }, h("h2", {}, "Your balances"), list,
        h("p", { class: "hint" }, "Balances update by themselves when money moves. ", h("a", { href: "/cashier" }, "Deposit or withdraw"))),
      h("div", { class: "card" }, h("h2", {}, "Games"),
        h("form", { role: "search", class: "filters", onsubmit: (e: Event) => { e.preventDefault(); void load(); } },
          h("div", { class: "field" }, h("label", { for: "lobby-q" }, "Search games"), q),
          h("div", { class: "field" }, h("label", { for: "lobby-cat" }, "Category"), category)),
        count, games));
  },
};
