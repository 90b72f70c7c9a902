// baccarat.ts: punto banco (docs/table-games.md): stakes on player, banker, tie and the pairs,
// one coup per request (POST /baccarat/rounds, idempotent), the cards and the winner shown.
import { ApiError, idempotencyKey } from "../../../lib/api";
import { h, replace } from "../../../lib/dom";
import { field, formError, onSubmit } from "../../../lib/form";
import { parseMajor } from "../../../lib/money";
import type { Round } from "../../../lib/types";
import type { PlayerApp } from "../../app";
import { cardEl } from "./blackjack";
import { cashOf, money, playError, resultLine } from "./common";

const SPOTS: Array<[string, string]> = [["player", "Player"], ["banker", "Banker"], ["tie", "Tie"],
  ["player_pair", "Player pair"], ["banker_pair", "Banker pair"]];

export function baccaratGame(app: PlayerApp): HTMLElement {
  const cash = cashOf(app);
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { "aria-label": "Baccarat bets" },
    h("div", { class: "stake-grid" }, ...SPOTS.map(([k, label]) =>
      field({ name: k, label: `${label} (${cash.currency})`, inputmode: "decimal", value: k === "player" ? "1.00" : "" }))),
    field({ name: "variant", label: "Banker commission", options: [["commission", "5% commission on banker wins"], ["no_commission", "No commission (banker wins on 6 pay half)"]] }),
    formError(), h("button", { type: "submit" }, "Deal"));
  onSubmit(form, async (v) => {
    const body: Record<string, unknown> = { currency: cash.currency, variant: v.variant };
    let any = false;
    for (const [k] of SPOTS) {
      if (!v[k]?.trim()) continue;
      const m = parseMajor(v[k], cash.exponent);
      if (m === null || m < 0) throw new ApiError(400, "validation_failed", "must be an amount like 1.00", k);
      if (m > 0) any = true;
      body[`${k}_minor`] = m;
    }
    if (!any) throw new Error("Put a stake on at least one spot.");
    replace(result);
    try {
      const r = await app.api.post<{ round: Round; balance?: { currency: string; exponent: number; available_minor: number; posted_minor: number } }>(
        "/baccarat/rounds", body, { "Idempotency-Key": idempotencyKey("baccarat") });
      if (r.balance) app.applyCash(r.balance);
      const d = r.round.detail as { player: { cards: string[]; total: number }; banker: { cards: string[]; total: number };
        winner: string; payouts: Record<string, number> };
      replace(result,
        h("div", { class: "bj-table", "data-testid": "baccarat-table" },
          h("div", { class: "bj-hand" }, h("h3", {}, `Player: ${d.player.total}`), h("div", { class: "cards" }, ...d.player.cards.map(cardEl))),
          h("div", { class: "bj-hand" }, h("h3", {}, `Banker: ${d.banker.total}`), h("div", { class: "cards" }, ...d.banker.cards.map(cardEl)))),
        h("p", { class: "big", "data-testid": "baccarat-winner" }, d.winner === "tie" ? "Tie" : `${d.winner[0].toUpperCase()}${d.winner.slice(1)} wins`),
        resultLine(r.round),
        h("ul", { class: "plain" }, ...SPOTS.filter(([k]) => (body[`${k}_minor`] as number) > 0).map(([k, label]) =>
          h("li", {}, `${label}: paid ${money(d.payouts[k] ?? 0, r.round)}`))));
    } catch (e) {
      replace(result, playError(e));
    }
  });
  return h("div", { class: "card game baccarat" }, form, result);
}
