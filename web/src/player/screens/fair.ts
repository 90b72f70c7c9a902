// fair.ts: provably fair: the active seed pair (the server seed's SHA-256 commitment, the
// client seed, the next nonce), changing the client seed, rotating the pair (the old server
// seed is revealed), the revealed pairs, and a verification form that recomputes a dice roll
// or a roulette pocket in the browser (lib/fair.ts) and checks the commitment.
import { h, replace, formatTime } from "../../lib/dom";
import { field, formError, onSubmit } from "../../lib/form";
import { diceRoll, roulettePocket, sha256Hex } from "../../lib/fair";
import type { Screen } from "../../lib/router";
import type { FairRevealed, FairSeeds } from "../../lib/types";
import type { PlayerApp } from "../app";

export const fairScreen: Screen<PlayerApp> = {
  title: "Fairness",
  async render({ app, query }) {
    const current = h("div", {});
    const revealedBox = h("div", {});
    const rotated = h("div", { "aria-live": "polite" });
    async function load(): Promise<void> {
      const s = await app.api.get<FairSeeds & { revealed: FairRevealed[] }>("/fair/seeds");
      replace(current, h("dl", { class: "props stacked", "data-testid": "fair-current" },
        h("dt", {}, "Server seed hash (commitment)"), h("dd", {}, h("code", { "data-testid": "commitment" }, s.server_seed_hash)),
        h("dt", {}, "Client seed"), h("dd", {}, h("code", { "data-testid": "client-seed" }, s.client_seed)),
        h("dt", {}, "Next nonce"), h("dd", { "data-testid": "nonce" }, String(s.nonce)),
        h("dt", {}, "Since"), h("dd", {}, formatTime(s.created_at))));
      replace(revealedBox, s.revealed.length === 0 ? h("p", {}, "No revealed seed pairs yet.")
        : h("ul", { class: "entries" }, ...s.revealed.map(revealedItem)));
    }
    function revealedItem(r: FairRevealed): HTMLElement {
      return h("li", {}, h("dl", { class: "props stacked" },
        h("dt", {}, "Server seed"), h("dd", {}, h("code", {}, r.server_seed)),
        h("dt", {}, "Hash"), h("dd", {}, h("code", {}, r.server_seed_hash)),
        h("dt", {}, "Client seed"), h("dd", {}, h("code", {}, r.client_seed)),
        h("dt", {}, "Nonces"), h("dd", {}, r.nonces ? `0 to ${r.nonces - 1}` : "none used"),
        h("dt", {}, "Revealed"), h("dd", {}, formatTime(r.revealed_at))),
        h("button", { type: "button", class: "secondary", onclick: () => {
          fill(r.server_seed, r.client_seed, Math.max(0, r.nonces - 1));
        } }, "Verify with this pair"));
    }

    const seedForm = h("form", { "aria-label": "Change the client seed" },
      field({ name: "client_seed", label: "New client seed", required: true, maxlength: 64, pattern: "[!-~]{1,64}",
        hint: "1 to 64 printable characters, no spaces. The server seed and the nonce stay." }),
      formError(), h("button", { type: "submit" }, "Change client seed"));
    onSubmit(seedForm, async (v) => {
      await app.api.post("/fair/seeds", { client_seed: v.client_seed });
      seedForm.reset();
      await load();
    });
    const rotate = h("button", { type: "button", onclick: async () => {
      rotate.disabled = true;
      try {
        const r = await app.api.post<{ revealed: FairRevealed; current: FairSeeds }>("/fair/seeds/rotate");
        await load();
        replace(rotated, h("p", { class: "ok", role: "status" }, "Rotated. The old server seed is now revealed:"),
          h("p", {}, h("code", { "data-testid": "revealed-now" }, r.revealed.server_seed)));
      } catch (e) {
        replace(rotated, h("p", { class: "error", role: "alert" }, String((e as Error).message)));
      } finally {
        rotate.disabled = false;
      }
    } }, "Rotate seed pair");

    // ---- verification ----
    const out = h("div", { "aria-live": "polite", "data-testid": "verify-result" });
    const verifyForm = h("form", { "aria-label": "Verify a round" },
      field({ name: "game", label: "Game", options: [["dice", "Dice"], ["roulette", "Roulette"]], value: query.get("game") ?? "dice" }),
      field({ name: "server_seed", label: "Server seed (revealed)", required: true, pattern: "[0-9a-f]{64}",
        value: query.get("server_seed") ?? "", hint: "64 hexadecimal characters." }),
      field({ name: "client_seed", label: "Client seed", required: true, maxlength: 64, value: query.get("client_seed") ?? "" }),
      field({ name: "nonce", label: "Nonce", required: true, inputmode: "numeric", pattern: "[0-9]{1,15}", value: query.get("nonce") ?? "0" }),
      formError(), h("button", { type: "submit" }, "Verify"));
    function fill(server: string, client: string, nonce: number): void {
      (verifyForm.elements.namedItem("server_seed") as HTMLInputElement).value = server;
      (verifyForm.elements.namedItem("client_seed") as HTMLInputElement).value = client;
      (verifyForm.elements.namedItem("nonce") as HTMLInputElement).value = String(nonce);
      (verifyForm.elements.namedItem("server_seed") as HTMLInputElement).focus();
    }
    onSubmit(verifyForm, async (v) => {
      if (!crypto.subtle) throw new Error("This browser has no Web Crypto here (it needs HTTPS or localhost).");
      const nonce = Number(v.nonce);
      const hash = await sha256Hex(v.server_seed);
      const outcome = v.game === "dice"
        ? `Roll ${((await diceRoll(v.server_seed, v.client_seed, nonce)) / 100).toFixed(2)}`
        : `Pocket ${await roulettePocket(v.server_seed, v.client_seed, nonce)}`;
      replace(out, h("p", { class: "big", "data-testid": "verified-outcome" }, outcome),
        h("p", { class: "hint" }, "Commitment of this server seed: ", h("code", { "data-testid": "verified-hash" }, hash)),
        h("p", { class: "hint" }, "Compare it with the server seed hash the round showed before it was played."));
    });

    await load();
    return h("section", {}, h("h1", {}, "Fairness"),
      h("div", { class: "card" }, h("h2", {}, "Your seed pair"), current, seedForm,
        h("h3", {}, "Rotate"), h("p", { class: "hint" }, "Ends this pair: its server seed is revealed so you can verify every round played with it; a new pair starts at nonce 0."),
        rotate, rotated),
      h("div", { class: "card" }, h("h2", {}, "Verify a round"),
        h("p", { class: "hint" }, "Computed here in your browser: HMAC-SHA256(server seed, \"client seed:nonce:0\"), the first 4 bytes as a fraction f; dice roll = floor(f × 10001) / 100, roulette pocket = floor(f × 37)."),
        verifyForm, out),
      h("div", { class: "card" }, h("h2", {}, "Revealed seed pairs"), revealedBox));
  },
};
