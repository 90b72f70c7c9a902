// rg.ts: safer gambling tools (docs/rg.md): limits with their usage and pending changes (a new
// limit or a decrease applies at once, an increase or a removal after the cooling period),
// the reality-check interval, a time-out, and self-exclusion (confirmed twice: it cannot be
// undone early).
import { ApiError } from "../../lib/api";
import { h, replace, formatTime } from "../../lib/dom";
import { describe, field, formError, onSubmit } from "../../lib/form";
import { formatMinor, parseMajor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { RgLimit, RgStatus } from "../../lib/types";
import type { PlayerApp } from "../app";

const KIND_NAMES: Record<string, string> = { deposit: "Deposit", loss: "Loss", wager: "Wager", session_time: "Session time" };
const WINDOW_NAMES: Record<string, string> = { "24h": "24 hours", "7d": "7 days", "30d": "30 days" };

export const rgScreen: Screen<PlayerApp> = {
  title: "Safer gambling",
  async render({ app }) {
    if (app.balances.length === 0) await app.refreshBalances();
    const currency = app.cash()?.currency ?? "EUR";
    const exponent = app.cash()?.exponent ?? 2;
    const fmt = (m: number) => formatMinor(m, exponent, currency);
    const statusBox = h("div", {});
    const limitsBox = h("div", {});
    let st: RgStatus;

    function value(l: RgLimit, which: "value" | "used" | "remaining"): string {
      if (l.limit === "session_time") {
        const s = which === "value" ? l.value_s : which === "used" ? l.used_s : (l.value_s ?? 0) - (l.used_s ?? 0);
        return `${Math.round((s ?? 0) / 60)} min`;
      }
      const m = which === "value" ? l.value_minor : which === "used" ? l.used_minor : l.remaining_minor;
      return formatMinor(m ?? 0, exponent, l.currency ?? currency);
    }

    async function load(): Promise<void> {
      st = await app.api.get<RgStatus>("/rg/status");
      const ex = st.exclusion;
      replace(statusBox, ex
        ? h("p", { class: "notice", role: "status", "data-testid": "exclusion" },
          `${ex.kind === "time_out" ? "Time-out" : "Self-exclusion"} active since ${formatTime(ex.from)}, `,
          ex.permanent ? "permanently." : `until ${formatTime(ex.until ?? "")}.`,
          " Bets and deposits are paused; you can still withdraw and see your history.")
        : h("p", { "data-testid": "exclusion" }, "No time-out or self-exclusion is active."));
      replace(limitsBox, st.limits.length === 0 ? h("p", {}, "No limits set.")
        : h("ul", { class: "entries", "data-testid": "limits", "aria-label": "Your limits" }, ...st.limits.map((l) => h("li", { "data-limit": `${l.limit}-${l.window}` },
          h("div", { class: "entry-head" }, h("strong", {}, `${KIND_NAMES[l.limit]} over ${WINDOW_NAMES[l.window]}: ${value(l, "value")}`)),
          h("p", { class: "hint" }, `Used ${value(l, "used")}, left ${value(l, "remaining")}.`),
          l.pending ? h("p", { class: "pending", "data-testid": "pending" },
            l.pending.removal ? "Removal pending" : `Change to ${l.limit === "session_time" ? `${Math.round((l.pending.value_s ?? 0) / 60)} min` : fmt(l.pending.value_minor ?? 0)} pending`,
            `, effective ${formatTime(l.pending.effective_at)}.`) : null,
          h("button", { type: "button", class: "secondary", "aria-label": `Remove the ${KIND_NAMES[l.limit].toLowerCase()} limit over ${WINDOW_NAMES[l.window]}`,
            onclick: async (ev: Event) => {
              const btn = ev.currentTarget as HTMLButtonElement;
              try {
                await app.api.del(`/rg/limits/${l.limit}/${l.window}${l.limit === "session_time" ? "" : `?currency=${encodeURIComponent(l.currency ?? currency)}`}`);
                await load();
              } catch (e) {
                btn.after(h("p", { class: "error", role: "alert" }, describe(e)));
              }
            } }, "Remove")))));
      (realityForm.elements.namedItem("interval") as HTMLInputElement).value = String(st.reality_check_minutes);
      const [tmin, tmax] = st.rules.time_out_hours ?? [24, 1008];
      const hoursSel = timeOutForm.elements.namedItem("hours") as HTMLSelectElement;
      replace(hoursSel, ...[24, 48, 72, 168, 336, 720, 1008].filter((x) => x >= tmin && x <= tmax).map((x) =>
        h("option", { value: x }, x < 168 ? `${x / 24} day${x > 24 ? "s" : ""}` : `${x / 168} week${x > 168 ? "s" : ""}`)));
      const [mmin, mmax] = st.rules.self_exclusion_months ?? [6, 60];
      const monthsSel = exclusionForm.elements.namedItem("period") as HTMLSelectElement;
      replace(monthsSel, ...[6, 12, 24, 36, 60].filter((x) => x >= mmin && x <= mmax).map((x) => h("option", { value: x }, `${x} months`)),
        st.rules.self_exclusion_permanent !== false ? h("option", { value: "permanent" }, "Permanently") : null);
    }

    // ---- set a limit ----
    const limitOut = h("p", { class: "ok", role: "status" });
    const limitForm = h("form", { "aria-label": "Set a limit" },
      field({ name: "kind", label: "Kind", options: [["deposit", "Deposit"], ["loss", "Loss (stakes minus wins)"], ["wager", "Wager (stakes)"], ["session_time", "Session time"]] }),
      field({ name: "window", label: "Period", options: [["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]] }),
      field({ name: "amount", label: `Amount (${currency}), or minutes for session time`, required: true, inputmode: "decimal",
        hint: "A lower limit applies at once; a higher one (or a removal) only after the cooling period." }),
      formError(), limitOut, h("button", { type: "submit" }, "Save limit"));
    onSubmit(limitForm, async (v) => {
      limitOut.textContent = "";
      let body: Record<string, unknown>;
      if (v.kind === "session_time") {
        const min = Number(v.amount);
        if (!Number.isInteger(min) || min < 1) throw new ApiError(400, "validation_failed", "must be whole minutes", "amount");
        body = { seconds: min * 60 };
      } else {
        if (parseMajor(v.amount, exponent) === null) throw new ApiError(400, "validation_failed", "must be an amount like 50.00", "amount");
        body = { currency, amount: v.amount.trim() };
      }
      const r = await app.api.put<{ effective_now: boolean }>(`/rg/limits/${v.kind}/${v.window}`, body);
      limitOut.textContent = r.effective_now ? "Saved: the limit applies now." : "Saved: the increase is pending until the cooling period ends.";
      await load();
    });

    // ---- reality check interval ----
    const realityOut = h("p", { class: "ok", role: "status" });
    const realityForm = h("form", { "aria-label": "Reality check" },
      field({ name: "interval", label: "Remind me of my session time every (minutes)", type: "number", min: "0", max: "240",
        required: true, hint: "5 to 240 minutes; 0 switches reminders off where the rules allow." }),
      formError(), realityOut, h("button", { type: "submit" }, "Save"));
    onSubmit(realityForm, async (v) => {
      await app.api.put("/rg/reality-check", { interval_minutes: Number(v.interval) });
      realityOut.textContent = "Saved.";
    });

    // ---- time-out ----
    const timeOutForm = h("form", { "aria-label": "Take a time-out" },
      field({ name: "hours", label: "Time-out length", options: [] }),
      formError(), h("button", { type: "submit", class: "danger" }, "Take a time-out"));
    onSubmit(timeOutForm, async (v) => {
      if (!window.confirm(`Take a time-out of ${(timeOutForm.elements.namedItem("hours") as HTMLSelectElement).selectedOptions[0].text}? It cannot be ended early.`)) return;
      await app.api.post("/rg/time-out", { hours: Number(v.hours) });
      await load();
    });

    // ---- self-exclusion ----
    const exclusionForm = h("form", { "aria-label": "Self-exclusion" },
      field({ name: "period", label: "Exclude me for", options: [] }),
      h("div", { class: "check" }, h("input", { type: "checkbox", id: "se-confirm", name: "confirm", required: true }),
        h("label", { for: "se-confirm" }, "I understand that I cannot play or deposit until it ends, and it cannot be shortened.")),
      formError(), h("button", { type: "submit", class: "danger" }, "Exclude me"));
    onSubmit(exclusionForm, async (v) => {
      const text = (exclusionForm.elements.namedItem("period") as HTMLSelectElement).selectedOptions[0].text.toLowerCase();
      if (!window.confirm(`Exclude yourself ${v.period === "permanent" ? "" : "for "}${text}? This cannot be undone early.`)) return;
      await app.api.post("/rg/self-exclusion", v.period === "permanent" ? { permanent: true } : { months: Number(v.period) });
      await load();
    });

    await load();
    return h("section", {}, h("h1", {}, "Safer gambling"),
      h("div", { class: "card" }, h("h2", {}, "Status"), statusBox, h("p", { class: "hint" }, `Rules: ${st!.rule_set}.`)),
      h("div", { class: "card" }, h("h2", {}, "Your limits"), limitsBox, h("h3", {}, "Set or change a limit"), limitForm),
      h("div", { class: "card" }, h("h2", {}, "Reality check"), realityForm),
      h("div", { class: "columns" },
        h("div", { class: "card" }, h("h2", {}, "Time-out"), h("p", {}, "A short break: bets and deposits are refused until it ends."), timeOutForm),
        h("div", { class: "card" }, h("h2", {}, "Self-exclusion"), h("p", {}, "A long break of months or for good."), exclusionForm)));
  },
};
