// common.ts: what every in-house game screen shares: the stake input (in the player's cash
// currency, checked with the game's limits), the idempotent play request that applies the
// answer's balance at once (the WebSocket push confirms it), and the result and error areas.
import { ApiError, idempotencyKey } from "../../../lib/api";
import { h } from "../../../lib/dom";
import { describe } from "../../../lib/form";
import { formatMinor, parseMajor } from "../../../lib/money";
import type { Balance, Game, PlayResult, Round } from "../../../lib/types";
import type { PlayerApp } from "../../app";

/** The player's cash balance, or an error the screen shows when there is no wallet yet. */
export function cashOf(app: PlayerApp): Balance {
  const b = app.cash();
  if (!b) throw new Error("Your wallet is not open yet; make a deposit first.");
  return b;
}

/** The limits of game in currency: stored, or the defaults. */
export function limitsOf(game: Game | undefined, b: Balance): { min: number; max: number } {
  const s = game?.stake_limits.find((l) => l.currency === b.currency);
  if (s) return { min: s.min_stake_minor, max: s.max_stake_minor };
  const d = game?.default_stake_limits ?? { min_stake_minor: 1, max_stake_major: 1000 };
  return { min: d.min_stake_minor, max: d.max_stake_major * 10 ** b.exponent };
}

/** Reads a stake typed in major units; throws a field error naming `field`. */
export function readStake(text: string, b: Balance, field = "stake"): number {
  const minor = parseMajor(text, b.exponent);
  if (minor === null || minor <= 0) {
    throw new ApiError(400, "validation_failed", `enter an amount like 1.00 (at most ${b.exponent} decimals)`, field);
  }
  return minor;
}

/** Plays one round: a fresh Idempotency-Key per play; the answer's balance shows at once. */
export async function play(app: PlayerApp, gameId: string, body: Record<string, unknown>): Promise<Round> {
  const r = await app.api.post<PlayResult>(`/games/${encodeURIComponent(gameId)}/play`, body,
    { "Idempotency-Key": idempotencyKey("play") });
  if (r.balance) app.applyCash(r.balance);
  return r.round;
}

export function money(minor: number, r: { exponent: number; currency: string }): string {
  return formatMinor(minor, r.exponent, r.currency);
}

/** "Won 1.98 EUR" / "No win" with the stake, for the result area. */
export function resultLine(r: Round): HTMLElement {
  const won = r.payout_minor > 0;
  return h("p", { class: won ? "result win" : "result", "data-testid": "round-result" },
    won ? `Won ${money(r.payout_minor, r)}` : "No win", ` (stake ${money(r.stake_minor, r)}) `,
    h("a", { href: `/rounds/${r.round_id}` }, `Round #${r.round_id}`));
}

/** An error paragraph for a refused play (limit_exceeded spelled out with its numbers). */
export function playError(e: unknown): HTMLElement {
  const code = e instanceof ApiError ? e.code : "error";
  return h("p", { class: "error", role: "alert", "data-code": code }, describe(e));
}

/** The stake limits as a hint. */
export function limitsHint(game: Game | undefined, b: Balance): string {
  const l = limitsOf(game, b);
  return `From ${formatMinor(l.min, b.exponent, b.currency)} to ${formatMinor(l.max, b.exponent, b.currency)}.`;
}
