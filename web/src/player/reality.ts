// reality.ts: the reality-check prompt. When the server pushes {"kind":"rg.reality_check"} on
// the player's topic, a modal dialog shows the session's time and net result; "Continue"
// acknowledges it, "Stop playing" ends the session (the server revokes it) and logs out.
import { h, replace } from "../lib/dom";
import { describe } from "../lib/form";
import { formatMinor } from "../lib/money";
import type { RealityCheck } from "../lib/types";
import type { PlayerApp } from "./app";

export function installRealityCheck(app: PlayerApp): void {
  const dialog = h("dialog", { class: "reality", "aria-labelledby": "rc-title", "data-testid": "reality-check" });
  document.body.append(dialog);
  app.onEvent("rg.reality_check", (data) => {
    const rc = data as unknown as RealityCheck;
    const mins = Math.floor((rc.elapsed_s ?? 0) / 60);
    const exp = (cur: string) => app.balances.find((b) => b.currency === cur)?.exponent ?? 2;
    const err = h("p", { class: "error", role: "alert", hidden: true });
    const answer = async (action: "continue" | "stop") => {
      try {
        await app.api.post("/rg/reality-check/ack", { action });
        dialog.close();
        if (action === "stop") app.end();
      } catch (e) {
        err.textContent = describe(e);
        err.hidden = false;
      }
    };
    replace(dialog,
      h("h2", { id: "rc-title" }, "Reality check"),
      h("p", {}, `You have been playing for ${mins < 1 ? "less than a minute" : `${mins} minute${mins > 1 ? "s" : ""}`}.`),
      ...(rc.net ?? []).map((n) => h("p", {}, `${n.currency}: staked ${formatMinor(n.stakes_minor, exp(n.currency), n.currency)}, won ${formatMinor(n.wins_minor, exp(n.currency), n.currency)}, net ${formatMinor(n.net_minor, exp(n.currency), n.currency)}.`)),
      err,
      h("div", { class: "row" },
        h("button", { type: "button", onclick: () => void answer("continue") }, "Continue playing"),
        h("button", { type: "button", class: "secondary", onclick: () => void answer("stop") }, "Stop playing and log out"),
        h("a", { href: "/responsible-gaming", onclick: () => dialog.close() }, "Safer gambling tools")));
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("button")?.focus();
  });
}
