// history.ts: a paged table of transactions (newest first), shared by the player's history
// and the back office's player profile. Paging follows the API's opaque cursors; earlier
// pages are remembered so "Previous" needs no cursor of its own.
import type { Api } from "./api";
import { h, replace, formatTime } from "./dom";
import { describe } from "./form";
import { formatMinor } from "./money";
import type { Balance, Transaction } from "./types";

interface HistoryPage {
  transactions: Transaction[];
  next_cursor: string | null;
}

export function historyTable(api: Api, path: string, exponents: () => Balance[], pageSize = 10): HTMLElement {
  const cursors: Array<string | undefined> = [undefined];
  let index = 0;
  const body = h("div", { class: "table-wrap" });
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary", onclick: () => void load(index - 1) }, "Previous");
  const next = h("button", { type: "button", class: "secondary", onclick: () => void load(index + 1) }, "Next");
  const root = h("div", { class: "history" }, body, h("div", { class: "pager" }, prev, next, status));

  function exponent(currency: string): number {
    return exponents().find((b) => b.currency === currency)?.exponent ?? 2;
  }

  async function load(i: number): Promise<void> {
    prev.disabled = next.disabled = true;
    let page: HistoryPage;
    try {
      page = await api.get<HistoryPage>(path, { limit: pageSize, cursor: cursors[i] });
    } catch (e) {
      replace(body, h("p", { class: "error", role: "alert" }, describe(e)));
      return;
    }
    index = i;
    if (page.next_cursor) cursors[i + 1] = page.next_cursor;
    else cursors.length = i + 1;
    if (page.transactions.length === 0) {
      replace(body, h("p", {}, "No transactions yet."));
    } else {
      replace(body, h("table", {},
        h("caption", { class: "sr-only" }, `Transactions, page ${i + 1}`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Type"),
          h("th", { scope: "col", class: "num" }, "Amount"))),
        h("tbody", {}, ...page.transactions.map((t) => {
          const sign = t.direction === "credit" ? 1 : -1;
          return h("tr", { "data-transaction": t.id },
            h("td", {}, formatTime(t.time)),
            h("td", {}, t.code.replace(/_/g, " "), t.kind !== "posted" ? ` (${t.kind})` : ""),
            h("td", { class: `num ${t.direction}` }, formatMinor(sign * t.amount_minor, exponent(t.currency), t.currency)));
        }))));
    }
    status.textContent = `Page ${i + 1}`;
    prev.disabled = i === 0;
    next.disabled = !page.next_cursor;
  }

  void load(0);
  return root;
}
