// withdrawals.ts: the withdrawal review queue (payments.review): withdrawals in a state
// (review by default, oldest first), each with its review reasons; approve or reject with a
// mandatory reason (audited; a rejection returns the funds to the player's cash).
import { h, replace, formatTime } from "../../lib/dom";
import { field, formError, onSubmit } from "../../lib/form";
import { exponentOf, formatMinor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { Withdrawal } from "../../lib/types";
import type { StaffApp } from "../app";

const STATES = ["review", "requested", "approved", "processing", "completed", "failed", "rejected", "cancelled"];

export const withdrawalsScreen: Screen<StaffApp> = {
  title: "Withdrawals",
  async render({ app, query, navigate }) {
    const state = STATES.includes(query.get("state") ?? "") ? query.get("state")! : "review";
    const r = await app.api.get<{ withdrawals: Withdrawal[] }>("/admin/withdrawals", { state });
    const filter = h("form", { class: "row", "aria-label": "Filter withdrawals" },
      field({ name: "state", label: "State", options: STATES.map((s) => [s, s]), value: state }),
      h("button", { type: "submit", class: "secondary" }, "Show"));
    filter.addEventListener("submit", (e) => {
      e.preventDefault();
      navigate(`/withdrawals?state=${(filter.elements.namedItem("state") as HTMLSelectElement).value}`);
    });

    function item(w: Withdrawal): HTMLElement {
      const li = h("li", { "data-withdrawal": w.withdrawal_id });
      const decide = h("form", { "aria-label": `Decide withdrawal ${w.withdrawal_id}` },
        field({ name: "reason", label: "Reason", required: true, maxlength: 500, hint: "Kept in the audit log; the player sees it." }),
        formError(),
        h("div", { class: "row" },
          h("button", { type: "submit", name: "decision", value: "approve" }, "Approve"),
          h("button", { type: "submit", name: "decision", value: "reject", class: "danger" }, "Reject")));
      let decision = "approve";
      for (const b of decide.querySelectorAll("button")) b.addEventListener("click", () => (decision = (b as HTMLButtonElement).value));
      onSubmit(decide, async (v) => {
        const done = await app.api.post<Withdrawal>(`/admin/withdrawals/${encodeURIComponent(w.withdrawal_id)}/${decision}`, { reason: v.reason });
        replace(li, head(done), h("p", { class: "ok", role: "status" }, `${decision === "approve" ? "Approved" : "Rejected"}: now ${done.state}.`));
      });
      replace(li, head(w), w.state === "review" && app.can("payments.review") ? decide : null);
      return li;
    }
    function head(w: Withdrawal): HTMLElement {
      return h("div", {},
        h("div", { class: "entry-head" },
          h("strong", { class: "balance" }, formatMinor(w.amount_minor, exponentOf(w.currency), w.currency)),
          h("span", {}, w.method),
          h("span", { class: `state state-${w.state}`, "data-testid": "withdrawal-state" }, w.state),
          h("a", { href: `/admin/players/${encodeURIComponent(w.player_id)}` }, h("code", {}, w.player_id)),
          h("span", { class: "hint" }, formatTime(w.created_at))),
        w.review_reasons.length ? h("p", { class: "hint" }, `Review: ${w.review_reasons.join(", ").replace(/_/g, " ")}`) : null,
        w.reviewer ? h("p", { class: "hint" }, `By ${w.reviewer}: ${w.reason}`) : null,
        h("p", { class: "hint" }, "Id ", h("code", {}, w.withdrawal_id)));
    }
    return h("section", {}, h("h1", {}, "Withdrawals"), filter,
      h("div", { class: "card" }, r.withdrawals.length === 0 ? h("p", {}, `No withdrawals in state ${state}.`)
        : h("ul", { class: "entries", "data-testid": "withdrawals" }, ...r.withdrawals.map(item))));
  },
};
