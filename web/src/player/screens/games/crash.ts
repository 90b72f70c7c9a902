// crash.ts: the live crash game (docs/table-games.md). The state comes from GET /crash/state,
// then the WebSocket topic "crash" (its own connection, closed when the screen is left):
// "betting" (bets until bets_close_ms, counted down on the server's clock), "tick" (the
// multiplier every 100 ms), "crashed" / "void". One bet per round with an optional automatic
// cash-out; "Cash out" while it runs; the bet's result is read back from the round.
import { idempotencyKey } from "../../../lib/api";
import { h, replace } from "../../../lib/dom";
import { field, formError, onSubmit } from "../../../lib/form";
import { Socket } from "../../../lib/ws";
import type { Round } from "../../../lib/types";
import type { PlayerApp } from "../../app";
import { cashOf, limitsHint, money, playError, readStake } from "./common";

interface CrashState { phase: string; server_ms: number; round_id: number | null; bets_close_ms: number | null;
  multiplier?: string; previous?: { round_id: number; crash_point: string | null; phase: string } | null }
interface Bet { bet_id: number; round_id: number; status: string; payout_minor: number; amount_minor: number;
  currency: string; auto_cashout: string | null; cashout: { multiplier: string } | null }

export async function crashGame(app: PlayerApp, signal: AbortSignal): Promise<HTMLElement> {
  const cash = cashOf(app);
  const st = await app.api.get<CrashState>("/crash/state");
  if (st.phase === "closed") return h("p", { class: "card" }, "Crash rounds are not running on this server.");
  const skew = st.server_ms - Date.now(); // server clock minus ours
  let phase = st.phase, roundId = st.round_id, closeMs = st.bets_close_ms ?? 0;
  let bet: Bet | null = null;
  const multi = h("p", { class: "crash-multiplier", "data-testid": "crash-multiplier", "aria-live": "off" }, st.multiplier ? `${st.multiplier}x` : "1.00x");
  const status = h("p", { role: "status", "data-testid": "crash-phase" });
  const history = h("ul", { class: "crash-history", "aria-label": "Last crash points" });
  const betBox = h("div", { "aria-live": "polite", "data-testid": "crash-bet" });
  const cashout = h("button", { type: "button", hidden: true, onclick: async () => {
    if (!bet) return;
    cashout.disabled = true;
    try {
      bet = (await app.api.post<{ bet: Bet }>(`/crash/bets/${bet.bet_id}/cashout`)).bet;
      drawBet();
    } catch (e) {
      replace(betBox, playError(e));
    }
  } }, "Cash out");

  function drawStatus(): void {
    if (phase === "betting") {
      const left = Math.max(0, Math.ceil((closeMs - (Date.now() + skew)) / 1000));
      status.textContent = `Taking bets: ${left} s left`;
    } else if (phase === "running") status.textContent = "Running";
    else if (phase === "crashed") status.textContent = "Crashed: next round soon";
    else status.textContent = "Waiting for the next round";
    multi.dataset.phase = phase;
    form.querySelector<HTMLButtonElement>("button[type=submit]")!.disabled = phase !== "betting" || (bet !== null && bet.round_id === roundId);
    cashout.hidden = !(bet && bet.status === "open" && phase === "running" && bet.round_id === roundId);
    cashout.disabled = false;
  }
  function drawBet(): void {
    if (!bet) return replace(betBox);
    const r = { exponent: cash.exponent, currency: bet.currency };
    const what = bet.status === "open" ? `Bet ${money(bet.amount_minor, r)} in play${bet.auto_cashout ? `, cashing out at ${bet.auto_cashout}x` : ""}`
      : bet.payout_minor > 0 ? `Cashed out${bet.cashout ? ` at ${bet.cashout.multiplier}x` : ""}: won ${money(bet.payout_minor, r)}`
      : `Lost ${money(bet.amount_minor, r)}`;
    replace(betBox, h("p", { class: bet.payout_minor > 0 ? "result win" : "result", "data-status": bet.status }, what, " ",
      h("a", { href: `/rounds/${bet.bet_id}` }, `Round #${bet.bet_id}`)));
  }
  async function settle(): Promise<void> {
    if (!bet || bet.status !== "open") return;
    try {
      const r = await app.api.get<Round>(`/rounds/${bet.bet_id}`);
      bet = { ...bet, ...(r.detail as Partial<Bet>), payout_minor: r.payout_minor };
      drawBet();
    } catch { /* shown on the next round */ }
  }
  const form = h("form", { "aria-label": "Crash bet" },
    field({ name: "stake", label: `Stake (${cash.currency})`, required: true, inputmode: "decimal", value: "1.00", hint: limitsHint(undefined, cash) }),
    field({ name: "auto", label: "Automatic cash-out at (optional)", inputmode: "decimal", pattern: "[1-9][0-9]*(\\.[0-9]{1,2})?",
      hint: "A multiplier such as 2.00; leave empty to cash out yourself." }),
    formError(), h("button", { type: "submit" }, "Place bet"));
  onSubmit(form, async (v) => {
    const body: Record<string, unknown> = { currency: cash.currency, amount_minor: readStake(v.stake, cashOf(app)) };
    if (v.auto.trim()) body.auto_cashout = v.auto.trim();
    try {
      bet = (await app.api.post<{ bet: Bet }>("/crash/bets", body, { "Idempotency-Key": idempotencyKey("crash") })).bet;
      drawBet();
    } catch (e) {
      replace(betBox, playError(e));
    }
    window.setTimeout(drawStatus, 0); // after onSubmit re-enables the button
  });

  const sock = new Socket(app.session!.token, { crash: (data) => {
    const m = data as { type: string; round_id: number; bets_close_ms?: number; multiplier?: string; crash_point?: string | null };
    if (m.type === "betting") {
      phase = "betting"; roundId = m.round_id; closeMs = m.bets_close_ms ?? 0;
      multi.textContent = "1.00x";
    } else if (m.type === "tick") {
      phase = "running"; roundId = m.round_id;
      multi.textContent = `${m.multiplier}x`;
    } else if (m.type === "crashed" || m.type === "void") {
      phase = "crashed";
      multi.textContent = m.type === "void" ? "void" : `${m.crash_point}x`;
      history.prepend(h("li", { "data-round": m.round_id }, m.type === "void" ? "void" : `${m.crash_point}x`));
      while (history.children.length > 10) history.lastChild?.remove();
      void settle();
    }
    drawStatus();
  } }, () => {});
  const timer = window.setInterval(drawStatus, 500);
  signal.addEventListener("abort", () => { sock.close(); window.clearInterval(timer); });
  if (st.previous?.crash_point) history.append(h("li", {}, `${st.previous.crash_point}x`));
  drawStatus();
  return h("div", { class: "card game crash" }, multi, status, cashout, betBox, form, h("h2", {}, "Last rounds"), history);
}
