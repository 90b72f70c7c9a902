// history.ts: the player's transactions, newest first, ten per page.
import { h } from "../../lib/dom";
import { historyTable } from "../../lib/history";
import type { Screen } from "../../lib/router";
import type { PlayerApp } from "../app";

export const historyScreen: Screen<PlayerApp> = {
  title: "History",
  render({ app }) {
    return h("section", {},
      h("h1", {}, "History"),
      h("div", { class: "card" }, historyTable(app.api, "/players/me/transactions", () => app.balances)));
  },
};
