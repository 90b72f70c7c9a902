// blackjack.ts: an interactive blackjack round (docs/table-games.md). The deal is idempotent;
// each action carries the view's `seq` so a retried click cannot act twice; only the actions
// the round offers now are shown as buttons. An open round is resumed from the player's
// recent rounds when the screen opens.
import { idempotencyKey } from "../../../lib/api";
import { h, replace } from "../../../lib/dom";
import { field, formError, onSubmit } from "../../../lib/form";
import type { Game, Round } from "../../../lib/types";
import type { PlayerApp } from "../../app";
import { cashOf, limitsHint, money, playError, readStake, resultLine } from "./common";

const SUITS: Record<string, [string, string]> = { S: ["♠", "spades"], H: ["♥", "hearts"], D: ["♦", "diamonds"], C: ["♣", "clubs"] };
const RANKS: Record<string, string> = { T: "10", J: "J", Q: "Q", K: "K", A: "A" };
const ACTION_LABELS: Record<string, string> = { hit: "Hit", stand: "Stand", double: "Double", split: "Split",
  surrender: "Surrender", insurance: "Take insurance", no_insurance: "No insurance" };

interface Hand { cards: string[]; total: number; soft: boolean; result: string; stake_minor: number; doubled: boolean; split: boolean; payout_minor?: number }
interface View { phase: string; seq: number; actions: string[]; active_hand: number; hands: Hand[];
  dealer: { cards: string[]; total: number }; insurance: { offered: boolean; stake_minor: number; payout_minor: number } }

export function cardEl(c: string): HTMLElement {
  const [sym, name] = SUITS[c.slice(-1)] ?? ["?", c.slice(-1)];
  const rank = RANKS[c[0]] ?? c.slice(0, -1);
  const red = name === "hearts" || name === "diamonds";
  return h("span", { class: `playing-card${red ? " red" : ""}`, role: "img", "aria-label": `${rank} of ${name}` }, rank, sym);
}

export function blackjackGame(app: PlayerApp, game: Game | undefined): HTMLElement {
  const cash = cashOf(app);
  const table = h("div", { class: "bj-table", "aria-live": "polite", "data-testid": "bj-table" });
  const actions = h("div", { class: "row", role: "group", "aria-label": "Actions" });
  const status = h("div", {});
  let round: Round | null = null;

  function draw(): void {
    if (!round) {
      replace(table, h("p", { class: "muted" }, "Place a stake and deal."));
      replace(actions);
      return;
    }
    const v = round.detail as View;
    replace(table,
      h("div", { class: "bj-hand dealer" }, h("h3", {}, `Dealer: ${v.dealer.total}`), h("div", { class: "cards" }, ...v.dealer.cards.map(cardEl))),
      ...v.hands.map((hd, i) => h("div", { class: `bj-hand${v.phase === "player" && i === v.active_hand ? " active" : ""}`, "data-testid": "bj-hand" },
        h("h3", {}, `${v.hands.length > 1 ? `Hand ${i + 1}: ` : "You: "}${hd.total}${hd.soft ? " (soft)" : ""}`,
          hd.result !== "open" ? h("span", { class: `badge ${hd.result}` }, ` ${hd.result.replace(/_/g, " ")}`) : null),
        h("div", { class: "cards" }, ...hd.cards.map(cardEl)),
        h("p", { class: "hint" }, `Stake ${money(hd.stake_minor, round!)}${hd.doubled ? ", doubled" : ""}`))),
      v.insurance.stake_minor > 0 ? h("p", { class: "hint" }, `Insurance ${money(v.insurance.stake_minor, round)}`) : null);
    replace(actions, ...(round.state === "closed" ? [] : v.actions.map((a) => h("button", {
      type: "button", class: a === "stand" || a === "no_insurance" ? "secondary" : "", "data-action": a,
      onclick: () => void act(a, v.seq) }, ACTION_LABELS[a] ?? a))));
    replace(status, round.state === "closed" ? resultLine(round) : null);
  }

  async function act(action: string, seq: number): Promise<void> {
    if (!round) return;
    for (const b of actions.querySelectorAll("button")) (b as HTMLButtonElement).disabled = true;
    try {
      const r = await app.api.post<{ round: Round }>(`/blackjack/rounds/${round.round_id}/actions`, { action, seq });
      round = r.round;
      draw();
    } catch (e) {
      replace(status, playError(e));
      for (const b of actions.querySelectorAll("button")) (b as HTMLButtonElement).disabled = false;
    }
  }

  const form = h("form", { "aria-label": "Blackjack deal" },
    field({ name: "stake", label: `Stake (${cash.currency})`, required: true, inputmode: "decimal", value: "1.00",
      hint: game ? limitsHint(game, cash) : undefined }),
    formError(),
    h("button", { type: "submit" }, "Deal"));
  onSubmit(form, async (v) => {
    if (round && round.state !== "closed") throw new Error("Finish the open round first.");
    const stake = readStake(v.stake, cashOf(app));
    replace(status);
    try {
      const r = await app.api.post<{ round: Round }>("/blackjack/rounds", { currency: cash.currency, stake_minor: stake },
        { "Idempotency-Key": idempotencyKey("blackjack") });
      round = r.round;
      draw();
    } catch (e) {
      replace(status, playError(e));
    }
  });

  // Resume the newest open blackjack round, if any.
  void app.api.get<{ rounds: Round[] }>("/players/me/rounds", { limit: 20 }).then((r) => {
    const open = r.rounds.find((x) => x.game_id === "blackjack" && x.state !== "closed");
    if (open && !round) {
      round = open;
      draw();
    }
  }).catch(() => {});
  draw();
  return h("div", { class: "card game blackjack" }, table, actions, status, form);
}
