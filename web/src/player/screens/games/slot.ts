// slot.ts: a video slot (src/games/slot_*.c). The reels spin (a CSS animation of a symbol
// strip) while the round is played and stop one by one on the drawn window
// (outcome.window[reel][row]); wins list their line, symbol and pay. The stake is per line;
// the answer's total_stake_minor is what was debited.
import { h, replace } from "../../../lib/dom";
import { field, formError, onSubmit } from "../../../lib/form";
import type { Game, Round } from "../../../lib/types";
import type { PlayerApp } from "../../app";
import { cashOf, limitsHint, money, play, playError, readStake, resultLine } from "./common";

const GLYPHS: Record<string, string> = { SEVEN: "7", BAR: "BAR", CHERRY: "Cherry", PLUM: "Plum", BLANK: "",
  WILD: "Wild", SCATTER: "Scatter", TEN: "10" };
const glyph = (s: string) => GLYPHS[s] ?? s.charAt(0) + s.slice(1).toLowerCase();
const DEFAULT_SHAPE: Record<string, [number, number]> = { "lucky-sevens": [3, 3] };

function symbolEl(s: string): HTMLElement {
  return h("span", { class: "sym", "data-symbol": s }, glyph(s));
}

export function slotGame(app: PlayerApp, game: Game): HTMLElement {
  const cash = cashOf(app);
  let [reelCount, rows] = DEFAULT_SHAPE[game.id] ?? [5, 3];
  let seen: string[] = ["A", "K", "Q", "J", "TEN", "WILD", "SCATTER"];
  const reels = h("div", { class: "reels", role: "img", "aria-label": "Reels, not spun yet", "data-testid": "reels" });
  function build(window?: string[][]): void {
    replace(reels, ...Array.from({ length: reelCount }, (_, r) => h("div", { class: "reel", "data-reel": r },
      h("div", { class: "strip" }, ...Array.from({ length: rows }, (_, i) =>
        symbolEl(window ? window[r][i] : seen[(r + i) % seen.length]))))));
  }
  build();
  const result = h("div", { "aria-live": "polite" });
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;

  async function stop(r: Round): Promise<void> {
    const o = r.detail.outcome as { window: string[][] };
    if (o.window.length !== reelCount || o.window[0].length !== rows) {
      reelCount = o.window.length;
      rows = o.window[0].length;
      build();
    }
    seen = [...new Set(o.window.flat())];
    const reelEls = [...reels.querySelectorAll<HTMLElement>(".reel")];
    for (let i = 0; i < reelEls.length; i++) {
      if (!reduced) await new Promise((ok) => setTimeout(ok, 140));
      const strip = reelEls[i].querySelector(".strip")!;
      replace(strip, ...o.window[i].map(symbolEl));
      reelEls[i].classList.remove("spinning");
      reelEls[i].classList.add("stopped");
    }
    reels.setAttribute("aria-label", `Reels: ${o.window.map((col, i) => `reel ${i + 1} ${col.map(glyph).filter(Boolean).join(" ") || "blank"}`).join("; ")}`);
  }

  const form = h("form", { "aria-label": "Slot spin" },
    field({ name: "stake", label: `Stake per line (${cash.currency})`, required: true, inputmode: "decimal", value: "0.10",
      hint: `The total stake is this times the game's lines. ${limitsHint(game, cash)}` }),
    formError(),
    h("button", { type: "submit" }, "Spin"));
  onSubmit(form, async (v) => {
    const stake = readStake(v.stake, cashOf(app));
    replace(result);
    for (const el of reels.querySelectorAll<HTMLElement>(".reel")) {
      el.classList.remove("stopped");
      if (!reduced) el.classList.add("spinning");
    }
    try {
      const r = await play(app, game.id, { currency: cash.currency, stake_minor: stake });
      await stop(r);
      const o = r.detail.outcome as { wins: Array<{ line?: number; symbol: string; count: number; pays_minor: number }>;
        free_spins_awarded: number; scatters: number; scatter_pays_minor: number };
      const total = r.detail.total_stake_minor as number;
      replace(result, resultLine(r),
        h("p", { class: "hint" }, `${total / stake} lines at ${money(stake, r)}.`),
        o.wins.length ? h("ul", { class: "plain", "data-testid": "slot-wins" }, ...o.wins.map((w) => h("li", {},
          `${w.line !== undefined ? `Line ${w.line}` : "Ways"}: ${w.count} x ${glyph(w.symbol) || w.symbol} pays ${money(w.pays_minor, r)}`))) : null,
        o.scatter_pays_minor > 0 ? h("p", {}, `Scatters pay ${money(o.scatter_pays_minor, r)}`) : null,
        o.free_spins_awarded > 0 ? h("p", { class: "ok" }, `${o.free_spins_awarded} free spins awarded`) : null);
    } catch (e) {
      for (const el of reels.querySelectorAll<HTMLElement>(".reel")) el.classList.remove("spinning");
      replace(result, playError(e));
    }
  });
  return h("div", { class: "card game slot" }, reels, form, result);
}
