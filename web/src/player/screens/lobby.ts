// lobby.ts: the start screen: the player's balances (kept live by the WebSocket push) and the
// games. The game catalog API is not on this server yet, so the lobby says so rather than
// showing made-up games; its screen replaces this section when the catalog lands.
import { h, replace } from "../../lib/dom";
import { formatMinor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { PlayerApp } from "../app";

export const lobbyScreen: Screen<PlayerApp> = {
  title: "Lobby",
  render({ app, signal }) {
    const list = h("dl", { class: "props", "data-testid": "balances" });
    const draw = () => replace(list, ...app.balances.flatMap((b) => [
      h("dt", {}, `${b.type[0].toUpperCase()}${b.type.slice(1)} (${b.currency})`),
      h("dd", { class: "balance", "data-account": b.type }, formatMinor(b.available_minor, b.exponent, b.currency)),
    ]));
    draw();
    app.watch(draw, signal);
    return h("section", {},
      h("h1", {}, "Lobby"),
      h("div", { class: "card" }, h("h2", {}, "Your balances"), list,
        h("p", { class: "hint" }, "Balances update by themselves when money moves.")),
      h("div", { class: "card" }, h("h2", {}, "Games"),
        h("p", {}, "No games are available on this server yet."),
        h("p", { class: "hint" }, "The lobby lists the game catalog once the games module is installed.")));
  },
};
