// rounds.ts: game recall: the player's newest rounds (GET /players/me/rounds, at most 50) and
// one round's detail (GET /rounds/{id}): the bet, the outcome, and for provably-fair rounds
// the seed pair with the revealed server seed once rotated (and a link to verify it).
import { h, formatTime } from "../../lib/dom";
import type { Screen } from "../../lib/router";
import type { Round } from "../../lib/types";
import type { PlayerApp } from "../app";
import { money } from "./games/common";

function summary(r: Round): string {
  const o = r.detail?.outcome;
  if (!o) return r.detail?.phase ? `blackjack, ${r.detail.phase}` : "";
  if (r.game_id === "dice") return `rolled ${o.roll} (${o.direction} ${(o.target / 100).toFixed(2)})`;
  if (r.game_id === "roulette") return `${o.pocket} ${o.color}`;
  if (Array.isArray(o.window)) return `${o.wins?.length ?? 0} winning line(s)`;
  return "";
}

export const roundsScreen: Screen<PlayerApp> = {
  title: "My rounds",
  async render({ app }) {
    const r = await app.api.get<{ rounds: Round[] }>("/players/me/rounds", { limit: 50 });
    return h("section", {}, h("h1", {}, "My rounds"),
      r.rounds.length === 0 ? h("p", {}, "No rounds yet.") : h("div", { class: "table-wrap" }, h("table", { "data-testid": "rounds" },
        h("caption", { class: "sr-only" }, "Your newest rounds"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Round"), h("th", { scope: "col" }, "Game"),
          h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col", class: "num" }, "Stake"), h("th", { scope: "col", class: "num" }, "Paid"))),
        h("tbody", {}, ...r.rounds.map((x) => h("tr", { "data-round": x.round_id },
          h("td", {}, h("a", { href: `/rounds/${x.round_id}` }, `#${x.round_id}`), h("br"), h("span", { class: "hint" }, formatTime(x.opened_at))),
          h("td", {}, x.game_id, x.state !== "closed" ? h("span", { class: "hint" }, " (open)") : null),
          h("td", {}, summary(x)),
          h("td", { class: "num" }, money(x.stake_minor, x)),
          h("td", { class: `num${x.payout_minor > 0 ? " credit" : ""}` }, money(x.payout_minor, x))))))),
      h("p", { class: "hint" }, "Game recall shows your 50 newest rounds; the History page lists every transaction."));
  },
};

export const roundScreen: Screen<PlayerApp> = {
  title: "Round",
  async render({ app, params }) {
    const r = await app.api.get<Round>(`/rounds/${encodeURIComponent(params.id)}`);
    const d = r.detail ?? {};
    const fair = d.fair as { client_seed: string; nonce: number; server_seed_hash: string } | undefined;
    const verify = fair && r.fair_reveal
      ? `/fair?game=${r.game_id}&server_seed=${r.fair_reveal.server_seed}&client_seed=${encodeURIComponent(fair.client_seed)}&nonce=${fair.nonce}`
      : null;
    return h("section", {}, h("h1", {}, `Round #${r.round_id}`),
      h("div", { class: "card" }, h("dl", { class: "props", "data-testid": "round-detail" },
        h("dt", {}, "Game"), h("dd", {}, r.game_id),
        h("dt", {}, "State"), h("dd", {}, r.state),
        h("dt", {}, "Opened"), h("dd", {}, formatTime(r.opened_at)),
        h("dt", {}, "Stake"), h("dd", {}, money(r.stake_minor, r)),
        h("dt", {}, "Paid"), h("dd", {}, money(r.payout_minor, r)),
        h("dt", {}, "Outcome"), h("dd", {}, summary(r) || "-"))),
      fair ? h("div", { class: "card" }, h("h2", {}, "Provably fair"),
        h("dl", { class: "props stacked" },
          h("dt", {}, "Server seed hash"), h("dd", {}, h("code", {}, fair.server_seed_hash)),
          h("dt", {}, "Client seed"), h("dd", {}, h("code", {}, fair.client_seed)),
          h("dt", {}, "Nonce"), h("dd", {}, String(fair.nonce)),
          h("dt", {}, "Server seed"), h("dd", {}, r.fair_reveal ? h("code", { "data-testid": "revealed-seed" }, r.fair_reveal.server_seed)
            : "hidden until you rotate the seed pair")),
        verify ? h("p", {}, h("a", { href: verify }, "Verify this round")) : h("p", { class: "hint" },
          h("a", { href: "/fair" }, "Rotate your seed pair"), " to reveal the server seed and verify this round.")) : null,
      h("details", {}, h("summary", {}, "Full detail (JSON)"), h("pre", { class: "change" }, JSON.stringify(d, null, 2))),
      h("p", {}, h("a", { href: "/rounds" }, "← My rounds")));
  },
};
