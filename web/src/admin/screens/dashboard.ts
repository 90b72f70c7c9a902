// dashboard.ts: the casino at a glance from GET /admin/reports/casino-daily and
// casino-minutes (ledger.read): totals (rounds, stakes, payouts, GGR, hold), SVG charts of GGR,
// rounds and active players per UTC day (days without rounds drawn as zero) and of bets per
// minute over the last hour; and the withdrawals waiting for review (payments.review).
import { h, replace } from "../../lib/dom";
import { barChart } from "../../lib/chart";
import { describe, field } from "../../lib/form";
import { formatMinor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { StaffApp } from "../app";

interface Daily {
  currency: string; exponent: number; from: string; to: string;
  days: Array<{ day: string; rounds: number; stakes_minor: number; payouts_minor: number; ggr_minor: number;
    active_players: number }>;
  totals: { rounds: number; stakes_minor: number; payouts_minor: number; ggr_minor: number };
}

interface Minutes {
  from: string; to: string;
  minutes: Array<{ minute: string; rounds: number; players: number }>;
}

/** "HH:MM" labels for every minute from `from` to `to` (UTC). */
function minutesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 60000) out.push(new Date(t).toISOString().slice(11, 16));
  return out;
}

function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86400000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export const dashboardScreen: Screen<StaffApp> = {
  title: "Dashboard",
  async render({ app, query, navigate }) {
    const currency = /^[A-Z]{3,5}$/.test(query.get("currency") ?? "") ? query.get("currency")! : "EUR";
    const days = ["7", "30", "90"].includes(query.get("days") ?? "") ? query.get("days")! : "30";
    const filter = h("form", { class: "filters", "aria-label": "Report period" },
      field({ name: "currency", label: "Currency", options: ["EUR", "USD", "GBP"].map((c) => [c, c]), value: currency }),
      field({ name: "days", label: "Period", options: [["7", "7 days"], ["30", "30 days"], ["90", "90 days"]], value: days }));
    filter.addEventListener("change", () => {
      const f = new FormData(filter);
      navigate(`/dashboard?currency=${f.get("currency")}&days=${f.get("days")}`);
    });
    const body = h("div", {});
    try {
      const r = await app.api.get<Daily>("/admin/reports/casino-daily", { currency, days });
      const fmt = (m: number) => formatMinor(m, r.exponent, r.currency);
      const labels = daysBetween(r.from, r.to);
      const byDay = new Map(r.days.map((d) => [d.day, d]));
      const hold = r.totals.stakes_minor ? ((r.totals.ggr_minor / r.totals.stakes_minor) * 100).toFixed(2) : "0.00";
      replace(body,
        h("div", { class: "stats", "data-testid": "totals" },
          h("div", { class: "stat" }, "Rounds", h("b", { "data-testid": "total-rounds" }, String(r.totals.rounds))),
          h("div", { class: "stat" }, "Stakes", h("b", {}, fmt(r.totals.stakes_minor))),
          h("div", { class: "stat" }, "Payouts", h("b", {}, fmt(r.totals.payouts_minor))),
          h("div", { class: "stat" }, "GGR", h("b", { "data-testid": "total-ggr" }, fmt(r.totals.ggr_minor))),
          h("div", { class: "stat" }, "Hold", h("b", {}, `${hold}%`))),
        barChart({ title: `GGR per day (${r.currency}), ${r.from} to ${r.to}`, labels, testid: "chart-ggr",
          values: labels.map((d) => byDay.get(d)?.ggr_minor ?? 0), format: fmt }),
        barChart({ title: `Rounds per day, ${r.from} to ${r.to}`, labels, testid: "chart-rounds",
          values: labels.map((d) => byDay.get(d)?.rounds ?? 0), format: (v) => String(Math.round(v)) }),
        barChart({ title: `Active players per day, ${r.from} to ${r.to}`, labels, testid: "chart-players",
          values: labels.map((d) => byDay.get(d)?.active_players ?? 0), format: (v) => String(Math.round(v)) }),
        h("p", { class: "hint" }, "Closed rounds (in-house and providers') by the UTC day they opened; GGR is stakes minus payouts."));
    } catch (e) {
      replace(body, h("p", { class: "error", role: "alert" }, describe(e)));
    }
    const perMinute = h("div", {});
    try {
      const m = await app.api.get<Minutes>("/admin/reports/casino-minutes", { minutes: "60" });
      const labels = minutesBetween(m.from, m.to);
      const byMinute = new Map(m.minutes.map((x) => [new Date(Date.parse(x.minute)).toISOString().slice(11, 16), x]));
      replace(perMinute, barChart({ title: "Bets per minute, last hour (UTC)", labels, testid: "chart-bets-minute",
        values: labels.map((l) => byMinute.get(l)?.rounds ?? 0), format: (v) => String(Math.round(v)) }));
    } catch (e) {
      replace(perMinute, h("p", { class: "error", role: "alert" }, describe(e)));
    }
    let queue: HTMLElement | null = null;
    if (app.can("payments.review")) {
      try {
        const w = await app.api.get<{ withdrawals: unknown[] }>("/admin/withdrawals", { state: "review" });
        queue = h("p", {}, h("a", { href: "/admin/withdrawals" }, `${w.withdrawals.length} withdrawal${w.withdrawals.length === 1 ? "" : "s"} waiting for review`));
      } catch (e) {
        queue = h("p", { class: "error", role: "alert" }, describe(e));
      }
    }
    return h("section", {}, h("h1", {}, "Dashboard"), queue, h("div", { class: "card" }, filter, body),
      h("div", { class: "card" }, perMinute));
  },
};
