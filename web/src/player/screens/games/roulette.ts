// roulette.ts: European roulette (src/games/roulette.c). Bets are placed on the layout: each
// press of a number or an outside box adds one chip of the chip value; the spin sends them as
// {"bets":[{kind, numbers|which, chips}]} with stake_minor = the chip value. The layout is the
// table turned upright (0 on top, rows 1-2-3 ... 34-35-36) so it fits a phone.
import { h, replace } from "../../../lib/dom";
import { field, formError, onSubmit } from "../../../lib/form";
import type { Game } from "../../../lib/types";
import type { PlayerApp } from "../../app";
import { cashOf, limitsHint, money, play, playError, readStake, resultLine } from "./common";

const RED = new Set([1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36]);
const colour = (n: number) => (n === 0 ? "green" : RED.has(n) ? "red" : "black");

interface Bet { key: string; label: string; kind: string; numbers?: number[]; which?: number; chips: number }

const OUTSIDE: Array<Omit<Bet, "chips">> = [
  { key: "low", label: "1 to 18", kind: "low" }, { key: "even", label: "Even", kind: "even" },
  { key: "red", label: "Red", kind: "red" }, { key: "black", label: "Black", kind: "black" },
  { key: "odd", label: "Odd", kind: "odd" }, { key: "high", label: "19 to 36", kind: "high" },
  { key: "dozen1", label: "1st 12", kind: "dozen", which: 1 }, { key: "dozen2", label: "2nd 12", kind: "dozen", which: 2 },
  { key: "dozen3", label: "3rd 12", kind: "dozen", which: 3 }, { key: "column1", label: "Column 1", kind: "column", which: 1 },
  { key: "column2", label: "Column 2", kind: "column", which: 2 }, { key: "column3", label: "Column 3", kind: "column", which: 3 },
];

// Inside bets placed by choosing their numbers on the layout; the server checks that they
// form the bet (src/games/roulette.c) and a wrong choice comes back naming it.
const INSIDE: Array<[string, string, number]> = [["straight", "Straight (1 number)", 1], ["split", "Split (2 side by side)", 2],
  ["street", "Street (a row of 3)", 3], ["corner", "Corner (a square of 4)", 4], ["six_line", "Six line (2 rows)", 6]];

export function rouletteGame(app: PlayerApp, game: Game): HTMLElement {
  const cash = cashOf(app);
  const bets = new Map<string, Bet>();
  const cells = new Map<string, HTMLButtonElement>();
  let picking: number[] = [];
  const kindSel = h("select", { id: "roulette-kind", name: "kind" }, ...INSIDE.map(([v, l]) => h("option", { value: v }, l)));
  const picked = h("p", { class: "hint", "aria-live": "polite" });
  const insideKind = () => INSIDE.find(([v]) => v === kindSel.value)!;
  kindSel.addEventListener("change", () => { picking = []; draw(); });
  const summary = h("p", { class: "hint", "aria-live": "polite", "data-testid": "roulette-bets" });
  const result = h("div", { "aria-live": "polite" });
  const wheel = h("div", { class: "wheel", "aria-hidden": "true" }, "?");

  function cell(b: Omit<Bet, "chips">, cls: string): HTMLButtonElement {
    const btn = h("button", { type: "button", class: `cell ${cls}`, "data-bet": b.key, "aria-pressed": "false",
      onclick: () => add(b) }, b.label);
    cells.set(b.key, btn);
    return btn;
  }
  function add(b: Omit<Bet, "chips">): void {
    if (b.kind === "straight" && insideKind()[0] !== "straight") {
      const n = b.numbers![0];
      picking = picking.includes(n) ? picking.filter((x) => x !== n) : [...picking, n];
      const [kind, label, count] = insideKind();
      if (picking.length < count) return draw();
      const numbers = [...picking].sort((x, y) => x - y);
      picking = [];
      b = { key: `${kind}:${numbers.join("-")}`, label: `${label.split(" ")[0]} ${numbers.join("/")}`, kind, numbers };
    }
    const cur = bets.get(b.key);
    bets.set(b.key, { ...b, chips: (cur?.chips ?? 0) + 1 });
    draw();
  }
  function draw(): void {
    const [, label, count] = insideKind();
    picked.textContent = count === 1 ? "" : `${label}: ${picking.length ? `chosen ${picking.join(", ")}; ` : ""}choose ${count - picking.length} more number${count - picking.length > 1 ? "s" : ""}.`;
    for (const [key, btn] of cells) {
      btn.classList.toggle("picking", key.startsWith("n") && picking.includes(Number(key.slice(1))));
      const inside = [...bets.values()].filter((b) => b.kind !== "straight" && b.numbers && key.startsWith("n") && b.numbers.includes(Number(key.slice(1))));
      btn.classList.toggle("covered", inside.length > 0);
      const chips = bets.get(key)?.chips ?? 0;
      btn.setAttribute("aria-pressed", chips > 0 ? "true" : "false");
      btn.dataset.chips = chips > 0 ? String(chips) : "";
      btn.setAttribute("aria-label", `${btn.textContent}${key.startsWith("n") ? ` ${colour(Number(key.slice(1)))}` : ""}${chips ? `, ${chips} chip${chips > 1 ? "s" : ""}` : ""}`);
    }
    const chips = [...bets.values()].reduce((a, b) => a + b.chips, 0);
    summary.textContent = chips === 0 ? "No chips placed: choose numbers or boxes on the table."
      : `${chips} chip${chips > 1 ? "s" : ""} on ${bets.size} bet${bets.size > 1 ? "s" : ""}: ${[...bets.values()].map((b) => `${b.label} x${b.chips}`).join(", ")}.`;
  }

  const grid = h("div", { class: "roulette-grid", role: "group", "aria-label": "Numbers" },
    cell({ key: "n0", label: "0", kind: "straight", numbers: [0] }, "green zero"),
    ...Array.from({ length: 36 }, (_, i) => i + 1).map((n) =>
      cell({ key: `n${n}`, label: String(n), kind: "straight", numbers: [n] }, colour(n))));
  const outside = h("div", { class: "roulette-outside", role: "group", "aria-label": "Outside bets" },
    ...OUTSIDE.map((b) => cell(b, b.kind === "red" ? "red" : b.kind === "black" ? "black" : "out")));

  const form = h("form", { "aria-label": "Roulette bet" },
    field({ name: "chip", label: `Chip value (${cash.currency})`, required: true, inputmode: "decimal", value: "1.00",
      hint: `Each chip stakes this much. ${limitsHint(game, cash)}` }),
    formError(),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Spin"),
      h("button", { type: "button", class: "secondary", onclick: () => { bets.clear(); picking = []; draw(); } }, "Clear bets")));
  onSubmit(form, async (v) => {
    const chip = readStake(v.chip, cashOf(app), "chip");
    if (bets.size === 0) throw new Error("Place at least one chip on the table.");
    replace(result);
    for (const btn of cells.values()) btn.classList.remove("hit");
    wheel.classList.remove("spun");
    wheel.classList.add("spinning");
    try {
      const r = await play(app, game.id, { currency: cash.currency, stake_minor: chip, bet: {
        bets: [...bets.values()].map((b) => ({ kind: b.kind, chips: b.chips,
          ...(b.numbers ? { numbers: b.numbers } : {}), ...(b.which ? { which: b.which } : {}) })) } });
      const o = r.detail.outcome as { pocket: number; color: string; bets: Array<{ kind: string; amount_minor: number; payout_minor: number }> };
      await new Promise((ok) => setTimeout(ok, 600)); // let the wheel turn
      wheel.classList.remove("spinning");
      wheel.classList.add("spun");
      wheel.textContent = String(o.pocket);
      wheel.dataset.colour = o.color;
      cells.get(`n${o.pocket}`)?.classList.add("hit");
      replace(result,
        h("p", { class: "big", "data-testid": "roulette-pocket" }, `${o.pocket} ${o.color}`),
        resultLine(r),
        h("ul", { class: "plain" }, ...o.bets.map((b) => h("li", {}, `${b.kind}: stake ${money(b.amount_minor, r)}, paid ${money(b.payout_minor, r)}`))));
    } catch (e) {
      wheel.classList.remove("spinning");
      replace(result, playError(e));
    }
  });
  draw();
  return h("div", { class: "card game roulette" }, h("div", { class: "roulette-top" }, wheel, summary),
    h("div", { class: "field" }, h("label", { for: "roulette-kind" }, "Number bet"), kindSel, picked),
    grid, outside, form, result);
}
