// audit.ts: the audit trail of staff actions, newest first, paged.
import { h, replace, formatTime } from "../../lib/dom";
import { describe } from "../../lib/form";
import type { Screen } from "../../lib/router";
import type { AuditEntry } from "../../lib/types";
import type { StaffApp } from "../app";

function summary(v: unknown): string {
  if (v === null || v === undefined) return "";
  const text = JSON.stringify(v);
  return text === "{}" ? "" : text;
}

export const auditScreen: Screen<StaffApp> = {
  title: "Audit log",
  render({ app }) {
    const cursors: Array<string | undefined> = [undefined];
    const body = h("div", { class: "table-wrap" });
    const prev = h("button", { type: "button", class: "secondary", onclick: () => void load(index - 1) }, "Previous");
    const next = h("button", { type: "button", class: "secondary", onclick: () => void load(index + 1) }, "Next");
    let index = 0;
    async function load(i: number): Promise<void> {
      prev.disabled = next.disabled = true;
      let r: { entries: AuditEntry[]; next_cursor: string | null };
      try {
        r = await app.api.get("/admin/audit", { limit: 25, cursor: cursors[i] });
      } catch (e) {
        replace(body, h("p", { class: "error", role: "alert" }, describe(e)));
        return;
      }
      index = i;
      if (r.next_cursor) cursors[i + 1] = r.next_cursor;
      replace(body, r.entries.length === 0 ? h("p", {}, "No entries.") : h("ul", { class: "plain entries", "data-testid": "audit" },
        ...r.entries.map((e) => {
          const change = [summary(e.before), summary(e.after)].filter(Boolean).join("\n→ ");
          return h("li", {},
            h("div", { class: "entry-head" }, h("strong", {}, e.action), h("span", {}, e.subject),
              h("span", { class: "muted" }, `${formatTime(e.time)} by ${e.actor}`)),
            e.reason ? h("div", {}, `Reason: ${e.reason}`) : null,
            change ? h("details", {}, h("summary", {}, "Change"), h("pre", { class: "change" }, change)) : null);
        })));
      prev.disabled = i === 0;
      next.disabled = !r.next_cursor;
    }
    void load(0);
    return h("section", {}, h("h1", {}, "Audit log"), h("div", { class: "card" }, body, h("div", { class: "pager" }, prev, next)));
  },
};
