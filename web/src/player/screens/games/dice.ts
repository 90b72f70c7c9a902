// dice.ts: roll over or under a target (docs: src/games/dice.c). The slider sets the target in
// hundredths; the win chance and the multiplier (99 / chance) follow it; the roll shows on
// the same track as the target.
import { h, replace } from "../../../lib/dom";
import { field, formError, onSubmit } from "../../../lib/form";
import type { Game } from "../../../lib/types";
import type { PlayerApp } from "../../app";
import { cashOf, limitsHint, play, playError, readStake, resultLine } from "./common";

const LIMITS = { under: [1, 9800], over: [200, 9999] } as const;

export function diceGame(app: PlayerApp, game: Game): HTMLElement {
  const cash = cashOf(app);
  const slider = h("input", { id: "dice-target", name: "target", type: "range", min: 1, max: 9800, step: 1,
    value: 5000, "aria-describedby": "dice-odds" });
  const targetOut = h("output", { for: "dice-target", class: "balance" }, "50.00");
  const odds = h("p", { id: "dice-odds", class: "hint", "aria-live": "polite" });
  const track = h("div", { class: "dice-track", "aria-hidden": "true" },
    h("div", { class: "dice-win" }), h("div", { class: "dice-marker", hidden: true }));
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { "aria-label": "Dice bet" },
    h("fieldset", { class: "choices" }, h("legend", {}, "Win when the roll is"),
      h("label", {}, h("input", { type: "radio", name: "direction", value: "under", checked: true }), " under the target"),
      h("label", {}, h("input", { type: "radio", name: "direction", value: "over" }), " over the target")),
    h("div", { class: "field" }, h("label", { for: "dice-target" }, "Target ", targetOut), slider, odds),
    track,
    field({ name: "stake", label: `Stake (${cash.currency})`, required: true, inputmode: "decimal", value: "1.00",
      hint: limitsHint(game, cash) }),
    formError(),
    h("button", { type: "submit" }, "Roll"));

  const direction = () => (form.querySelector<HTMLInputElement>("input[name=direction]:checked")?.value ?? "under") as "under" | "over";
  function update(): void {
    const dir = direction();
    const [lo, hi] = LIMITS[dir];
    slider.min = String(lo);
    slider.max = String(hi);
    let t = Number(slider.value);
    if (t < lo || t > hi) {
      t = Math.min(hi, Math.max(lo, t));
      slider.value = String(t);
    }
    const chance = dir === "under" ? t : 10000 - t; // hundredths of a percent
    targetOut.textContent = (t / 100).toFixed(2);
    odds.textContent = `Win chance ${(chance / 100).toFixed(2)}%, pays ${(9900 / chance).toFixed(4)}x the stake.`;
    const win = track.querySelector<HTMLElement>(".dice-win")!;
    win.style.left = dir === "under" ? "0" : `${t / 100}%`;
    win.style.width = `${chance / 100}%`;
  }
  slider.addEventListener("input", update);
  form.addEventListener("change", update);
  update();

  onSubmit(form, async (v) => {
    const stake = readStake(v.stake, cashOf(app));
    replace(result);
    try {
      const r = await play(app, game.id, { currency: cash.currency, stake_minor: stake,
        bet: { target: Number(slider.value), direction: direction() } });
      const o = r.detail.outcome as { roll: string; roll_hundredths: number; win: boolean };
      const marker = track.querySelector<HTMLElement>(".dice-marker")!;
      marker.hidden = false;
      marker.style.left = `${o.roll_hundredths / 100}%`;
      marker.dataset.win = String(o.win);
      replace(result, h("p", { class: "big", "data-testid": "dice-roll" }, `Rolled ${o.roll}`), resultLine(r));
    } catch (e) {
      replace(result, playError(e));
    }
  });
  return h("div", { class: "card game dice" }, form, result);
}
