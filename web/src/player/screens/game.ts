// game.ts: /games/:id (dice, roulette and slots, by the game's kind) and /blackjack. The game's
// configuration (enabled, RTP, stake limits in the player's currency) comes from GET /games.
import { h } from "../../lib/dom";
import type { Screen } from "../../lib/router";
import type { Game } from "../../lib/types";
import type { PlayerApp } from "../app";
import { baccaratGame } from "./games/baccarat";
import { blackjackGame } from "./games/blackjack";
import { crashGame } from "./games/crash";
import { diceGame } from "./games/dice";
import { rouletteGame } from "./games/roulette";
import { slotGame } from "./games/slot";

async function gameList(app: PlayerApp): Promise<Game[]> {
  if (app.balances.length === 0) await app.refreshBalances();
  const currency = app.cash()?.currency;
  return (await app.api.get<{ games: Game[] }>("/games", { currency })).games;
}

function frame(title: string, game: Game | undefined, body: HTMLElement): HTMLElement {
  return h("section", {}, h("h1", {}, title),
    game ? h("p", { class: "hint" }, `Return to player ${game.rtp}%${game.provably_fair ? " · provably fair (see Fairness)" : ""}`) : null,
    body,
    h("p", {}, h("a", { href: "/" }, "← Lobby"), " · ", h("a", { href: "/rounds" }, "My rounds")));
}

export const gameScreen: Screen<PlayerApp> = {
  title: "Game",
  async render({ app, params }) {
    const game = (await gameList(app)).find((g) => g.id === params.id);
    if (!game) return h("section", {}, h("h1", {}, "Game not found"), h("a", { href: "/" }, "Back to the lobby"));
    document.title = `${game.name} - pitboss`;
    if (!game.enabled) return frame(game.name, game, h("p", { role: "alert" }, "This game is switched off at the moment."));
    const body = game.kind === "dice" ? diceGame(app, game) : game.kind === "roulette" ? rouletteGame(app, game)
      : game.kind === "slot" ? slotGame(app, game) : h("p", {}, `Games of kind ${game.kind} have no screen yet.`);
    return frame(game.name, game, body);
  },
};

export const blackjackScreen: Screen<PlayerApp> = {
  title: "Blackjack",
  async render({ app }) {
    const game = (await gameList(app)).find((g) => g.id === "blackjack");
    return frame("Blackjack", game, blackjackGame(app, game));
  },
};

export const baccaratScreen: Screen<PlayerApp> = {
  title: "Baccarat",
  async render({ app }) {
    if (app.balances.length === 0) await app.refreshBalances();
    return frame("Baccarat", undefined, baccaratGame(app));
  },
};

export const crashScreen: Screen<PlayerApp> = {
  title: "Crash",
  async render({ app, signal }) {
    if (app.balances.length === 0) await app.refreshBalances();
    return frame("Crash", undefined, await crashGame(app, signal));
  },
};
