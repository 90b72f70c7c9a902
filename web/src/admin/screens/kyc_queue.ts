// kyc_queue.ts: players waiting for KYC review, longest waiting first.
import { h, formatTime } from "../../lib/dom";
import type { Screen } from "../../lib/router";
import type { StaffApp } from "../app";

export const kycQueueScreen: Screen<StaffApp> = {
  title: "KYC queue",
  async render({ app }) {
    const r = await app.api.get<{ players: Array<{ player_id: string; tier: number; pending_since: string }> }>("/admin/kyc/queue");
    return h("section", {}, h("h1", {}, "KYC queue"),
      r.players.length === 0 ? h("p", {}, "Nobody is waiting for review.") :
        h("div", { class: "card table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Player"), h("th", { scope: "col" }, "Tier"),
            h("th", { scope: "col" }, "Waiting since"))),
          h("tbody", {}, ...r.players.map((p) => h("tr", {},
            h("td", {}, h("a", { href: `/admin/players/${encodeURIComponent(p.player_id)}` }, h("code", {}, p.player_id))),
            h("td", {}, String(p.tier)), h("td", {}, formatTime(p.pending_since))))))));
  },
};
