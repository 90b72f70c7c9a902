// cashier.ts: deposits and withdrawals (docs/openapi.yaml, /payments). A deposit is started
// with a fresh Idempotency-Key; the PSP's checkout is followed (a real PSP's page opens; the
// sandbox PSP completes by itself and says so) and the deposit's state is polled until the
// PSP's webhook settles it; the balance moves by the WebSocket push. Withdrawals show their
// state (review, approved, ...) and can be cancelled while the API allows. The API has no
// list of a player's payments, so this browser remembers the ids it started (localStorage).
// When the rule set requires it, the deposit-limit prompt is answered first.
import { ApiError, idempotencyKey } from "../../lib/api";
import { h, replace, formatTime } from "../../lib/dom";
import { describe, field, formError, onSubmit } from "../../lib/form";
import { formatMinor, parseMajor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { Deposit, PaymentMethod, RgStatus, Withdrawal } from "../../lib/types";
import type { PlayerApp } from "../app";

const FINAL_DEPOSIT = new Set(["succeeded", "failed", "expired"]);
const CANCELLABLE = new Set(["requested", "review"]);
const FINAL_WITHDRAWAL = new Set(["completed", "failed", "rejected", "cancelled"]);
const METHOD_NAMES: Record<string, string> = { card: "Card", bank_transfer: "Bank transfer", crypto: "Crypto" };

interface Remembered { kind: "deposit" | "withdrawal"; id: string }

function storageKey(app: PlayerApp): string {
  return `pitboss.payments.${app.session?.player_id ?? ""}`;
}
function remembered(app: PlayerApp): Remembered[] {
  try {
    return JSON.parse(localStorage.getItem(storageKey(app)) ?? "[]") as Remembered[];
  } catch {
    return [];
  }
}
function remember(app: PlayerApp, r: Remembered): void {
  localStorage.setItem(storageKey(app), JSON.stringify([r, ...remembered(app)].slice(0, 20)));
}

function fee(m: PaymentMethod, exponent: number, currency: string): string {
  const parts = [];
  if (m.fee_fixed_minor) parts.push(formatMinor(m.fee_fixed_minor, exponent, currency));
  if (m.fee_basis_points) parts.push(`${(m.fee_basis_points / 100).toFixed(2)}%`);
  return parts.length ? `fee ${parts.join(" + ")} (${m.fee_bearer === "player" ? "paid by you" : "paid by us"})` : "no fee";
}

export const cashierScreen: Screen<PlayerApp> = {
  title: "Cashier",
  async render({ app, signal }) {
    if (app.balances.length === 0) await app.refreshBalances();
    const cash = app.cash();
    if (!cash) return h("section", {}, h("h1", {}, "Cashier"), h("p", {}, "Your wallet is not open yet."));
    const { currency, exponent } = cash;
    const fmt = (m: number) => formatMinor(m, exponent, currency);
    const [{ methods }, rg] = await Promise.all([
      app.api.get<{ methods: PaymentMethod[] }>("/payments/methods"),
      app.api.get<RgStatus>("/rg/status"),
    ]);
    const timers: number[] = [];
    signal.addEventListener("abort", () => timers.forEach((t) => window.clearTimeout(t)));

    // ---- payments list (polled while not final) ----
    const listBox = h("ul", { class: "entries", "data-testid": "payments" });
    const rows = new Map<string, HTMLElement>();
    function drawPayment(kind: "deposit" | "withdrawal", p: Deposit | Withdrawal): void {
      const id = kind === "deposit" ? (p as Deposit).deposit_id : (p as Withdrawal).withdrawal_id;
      let li = rows.get(id);
      if (!li) {
        li = h("li", { "data-payment": id });
        rows.set(id, li);
        listBox.prepend(li);
      }
      const w = kind === "withdrawal" ? (p as Withdrawal) : null;
      const cancel = w && CANCELLABLE.has(w.state) ? h("button", { type: "button", class: "secondary", onclick: async () => {
        try {
          drawPayment("withdrawal", await app.api.post<Withdrawal>(`/payments/withdrawals/${encodeURIComponent(id)}/cancel`));
        } catch (e) {
          li!.append(h("p", { class: "error", role: "alert" }, describe(e)));
        }
      } }, "Cancel withdrawal") : null;
      replace(li, h("div", { class: "entry-head" },
        h("strong", {}, kind === "deposit" ? "Deposit" : "Withdrawal"),
        h("span", {}, formatMinor(p.amount_minor, exponent, p.currency)),
        h("span", {}, METHOD_NAMES[p.method] ?? p.method),
        h("span", { class: `state state-${p.state}`, "data-testid": `${kind}-state` }, p.state),
        h("span", { class: "hint" }, formatTime(p.created_at))),
        w && w.review_reasons.length && w.state === "review" ? h("p", { class: "hint" }, `Being reviewed (${w.review_reasons.join(", ").replace(/_/g, " ")}).`) : null,
        w && w.reason && (w.state === "rejected" || w.state === "approved") ? h("p", { class: "hint" }, `Reviewer's note: ${w.reason}`) : null,
        cancel);
    }
    async function follow(kind: "deposit" | "withdrawal", id: string, delay = 800): Promise<void> {
      if (signal.aborted) return;
      try {
        const p = await app.api.get<Deposit | Withdrawal>(`/payments/${kind}s/${encodeURIComponent(id)}`);
        drawPayment(kind, p);
        const done = kind === "deposit" ? FINAL_DEPOSIT.has(p.state) : FINAL_WITHDRAWAL.has(p.state);
        if (!done) timers.push(window.setTimeout(() => void follow(kind, id, Math.min(delay * 1.5, 5000)), delay));
        else if (kind === "deposit") {
          const started = depositOut.querySelector<HTMLElement>(`[data-deposit="${id}"]`);
          if (started) started.textContent = `Deposit of ${formatMinor(p.amount_minor, exponent, p.currency)} ${p.state}.`;
          if (p.state === "succeeded") void app.refreshBalances();
        }
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) timers.push(window.setTimeout(() => void follow(kind, id, 5000), 5000));
      }
    }

    // ---- deposit ----
    const depositMethods = methods.filter((m) => m.deposit && m.method !== "crypto");
    const depositOut = h("div", { "aria-live": "polite" });
    let depositKey = idempotencyKey("deposit");
    const depositHint = h("p", { class: "hint", "aria-live": "polite" });
    const depositForm = h("form", { "aria-label": "Deposit" },
      field({ name: "method", label: "Method", options: depositMethods.map((m) => [m.method, METHOD_NAMES[m.method] ?? m.method]) }),
      depositHint,
      field({ name: "amount", label: `Amount (${currency})`, required: true, inputmode: "decimal" }),
      formError(), h("button", { type: "submit" }, "Deposit"));
    const syncDepositHint = () => {
      const m = depositMethods.find((x) => x.method === (depositForm.elements.namedItem("method") as HTMLSelectElement).value);
      depositHint.textContent = m ? `${fmt(m.min_minor)} to ${fmt(m.max_minor)}; ${fee(m, exponent, currency)}.` : "";
    };
    depositForm.addEventListener("change", syncDepositHint);
    syncDepositHint();
    onSubmit(depositForm, async (v) => {
      const m = depositMethods.find((x) => x.method === v.method)!;
      const minor = parseMajor(v.amount, exponent);
      if (minor === null || minor < m.min_minor || minor > m.max_minor) {
        throw new ApiError(400, "validation_failed", `must be between ${fmt(m.min_minor)} and ${fmt(m.max_minor)}`, "amount");
      }
      const d = await app.api.post<Deposit>("/payments/deposits", { method: m.method, amount_minor: minor, currency },
        { "Idempotency-Key": depositKey });
      depositKey = idempotencyKey("deposit");
      depositForm.reset();
      remember(app, { kind: "deposit", id: d.deposit_id });
      drawPayment("deposit", d);
      const sandbox = !d.redirect_url || new URL(d.redirect_url).hostname.endsWith(".invalid");
      replace(depositOut, h("p", { class: "ok", role: "status", "data-testid": "deposit-started", "data-deposit": d.deposit_id },
        `Deposit of ${fmt(d.amount_minor)} started${d.fee_minor ? ` (fee ${fmt(d.fee_minor)}, ${d.fee_bearer === "player" ? "paid by you" : "paid by us"})` : ""}. `,
        sandbox ? "Sandbox payment provider: no payment page to visit, it confirms by itself in a moment."
          : "Complete the payment on your provider's page (opened in a new tab); this page follows its state."));
      if (!sandbox && d.redirect_url) window.open(d.redirect_url, "_blank", "noopener");
      void follow("deposit", d.deposit_id);
    });

    // ---- deposit-limit prompt ----
    const promptBox = h("div", {});
    const waitNote = h("p", { class: "hint" }, "Answer the deposit-limit question above first.");
    function drawPrompt(required: boolean): void {
      depositForm.hidden = required;
      waitNote.hidden = !required;
      if (!required) {
        replace(promptBox);
        return;
      }
      const f = h("form", { "aria-label": "Set a deposit limit" },
        field({ name: "window", label: "Period", options: [["24h", "Day (24 hours)"], ["7d", "Week (7 days)"], ["30d", "Month (30 days)"]] }),
        field({ name: "amount", label: `Deposit limit (${currency})`, required: true, inputmode: "decimal" }),
        formError(),
        h("div", { class: "row" }, h("button", { type: "submit" }, "Set limit"),
          h("button", { type: "button", class: "secondary", onclick: async () => {
            await app.api.post("/rg/deposit-limit-prompt/decline");
            drawPrompt(false);
          } }, "No limit for now")));
      onSubmit(f, async (v) => {
        await app.api.put(`/rg/limits/deposit/${v.window}`, { currency, amount: v.amount });
        drawPrompt(false);
      });
      replace(promptBox, h("div", { class: "card notice", role: "region", "aria-label": "Deposit limit" },
        h("h2", {}, "Set a deposit limit?"),
        h("p", {}, "Before your first deposit, please choose a deposit limit, or say you do not want one now. You can change it on the Safer gambling page."), f));
    }
    drawPrompt(rg.deposit_limit_prompt_required);

    // ---- withdrawal ----
    const wMethods = methods.filter((m) => m.withdrawal);
    let wKey = idempotencyKey("withdrawal");
    const destination = field({ name: "destination", label: "Destination address (crypto)", maxlength: 128 });
    const wForm = h("form", { "aria-label": "Withdrawal" },
      field({ name: "method", label: "Method", options: wMethods.map((m) => [m.method, `${METHOD_NAMES[m.method] ?? m.method}: from ${fmt(m.min_minor)}`]) }),
      field({ name: "amount", label: `Amount (${currency})`, required: true, inputmode: "decimal",
        hint: "The amount moves from your cash balance to a locked balance until it is paid out." }),
      destination, formError(), h("button", { type: "submit" }, "Request withdrawal"));
    const syncDest = () => { destination.hidden = (wForm.elements.namedItem("method") as HTMLSelectElement).value !== "crypto"; };
    wForm.addEventListener("change", syncDest);
    syncDest();
    onSubmit(wForm, async (v) => {
      const m = wMethods.find((x) => x.method === v.method)!;
      const minor = parseMajor(v.amount, exponent);
      if (minor === null || minor < m.min_minor || minor > m.max_minor) {
        throw new ApiError(400, "validation_failed", `must be at least ${fmt(m.min_minor)}`, "amount");
      }
      const body: Record<string, unknown> = { method: m.method, amount_minor: minor, currency };
      if (m.method === "crypto") body.destination = v.destination;
      const w = await app.api.post<Withdrawal>("/payments/withdrawals", body, { "Idempotency-Key": wKey });
      wKey = idempotencyKey("withdrawal");
      wForm.reset();
      syncDest();
      remember(app, { kind: "withdrawal", id: w.withdrawal_id });
      drawPayment("withdrawal", w);
      void follow("withdrawal", w.withdrawal_id);
    });

    for (const r of remembered(app).slice().reverse()) void follow(r.kind, r.id);
    const balanceEl = h("span", { class: "balance", "data-testid": "cashier-balance" }, fmt(cash.available_minor));
    app.watch(() => { balanceEl.textContent = fmt(app.cash()?.available_minor ?? 0); }, signal);
    return h("section", {}, h("h1", {}, "Cashier"),
      h("p", {}, "Cash balance: ", balanceEl),
      promptBox,
      h("div", { class: "columns" },
        h("div", { class: "card" }, h("h2", {}, "Deposit"), waitNote, depositForm, depositOut),
        h("div", { class: "card" }, h("h2", {}, "Withdraw"), wForm)),
      h("div", { class: "card" }, h("h2", {}, "Your recent payments"),
        h("p", { class: "hint" }, "Payments started in this browser; states update by themselves."), listBox));
  },
};
