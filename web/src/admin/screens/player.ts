// player.ts: one player in the back office: profile and lock-out, blocks (set and clear with
// a reason), balances with a manual adjustment (reason required, idempotent), KYC state with
// documents, history and the review decision, responsible gaming, staff notes, and the
// transaction history. Each section appears only when the role has its permission.
import { ApiError, idempotencyKey } from "../../lib/api";
import { h, replace, formatTime } from "../../lib/dom";
import { describe, field, formError, onSubmit } from "../../lib/form";
import { historyTable } from "../../lib/history";
import { exponentOf, formatMinor, parseMajor } from "../../lib/money";
import type { Screen } from "../../lib/router";
import type { Balance, KycState, RgLimit, RgStatus, StaffPlayer } from "../../lib/types";
import type { StaffApp } from "../app";

const BLOCKS: Array<[string, string]> = [["login", "Login"], ["deposit", "Deposit"], ["withdraw", "Withdraw"],
  ["bet", "Bet"], ["read_only", "Read only"]];

function errorBox(e: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, describe(e));
}

export const playerScreen: Screen<StaffApp> = {
  title: "Player",
  async render({ app, params }) {
    const id = params.id;
    const enc = encodeURIComponent(id);
    const profile = await app.api.get<StaffPlayer>(`/admin/players/${enc}`);
    let balances: Balance[] = [];

    // ---- blocks ----
    const blocksBox = h("div", {});
    function drawBlocks(list: Array<{ block: string; reason: string; since?: string }>): void {
      const add = h("form", { "aria-label": "Set a block" },
        field({ name: "block", label: "Block", options: BLOCKS }),
        field({ name: "reason", label: "Reason", required: true, maxlength: 200 }),
        formError(),
        h("button", { type: "submit" }, "Set block"));
      onSubmit(add, async (v) => {
        await app.api.post(`/admin/players/${enc}/blocks`, { block: v.block, reason: v.reason });
        await reloadBlocks();
      });
      replace(blocksBox,
        list.length === 0 ? h("p", {}, "No blocks.") : h("ul", { class: "plain" }, ...list.map((b) => {
          const reason = h("input", { id: `clear-${b.block}`, name: "reason", required: true, maxlength: 200 });
          const clear = h("form", { class: "row", "aria-label": `Clear the ${b.block} block` },
            h("label", { for: `clear-${b.block}` }, "Reason to clear"), reason, formError(),
            h("button", { type: "submit", class: "secondary" }, `Clear ${b.block}`));
          onSubmit(clear, async (v) => {
            await app.api.del(`/admin/players/${enc}/blocks/${encodeURIComponent(b.block)}`, { reason: v.reason });
            await reloadBlocks();
          });
          return h("li", {}, h("strong", {}, b.block), `: ${b.reason}`, b.since ? ` (since ${formatTime(b.since)})` : "",
            app.can("players.block") ? clear : null);
        })),
        app.can("players.block") ? add : null);
    }
    async function reloadBlocks(): Promise<void> {
      const p = await app.api.get<StaffPlayer>(`/admin/players/${enc}`);
      drawBlocks(p.blocks ?? []);
    }
    drawBlocks(profile.blocks ?? []);

    // ---- balances and adjustment ----
    const balancesBox = h("div", {});
    function drawBalances(): void {
      replace(balancesBox, balances.length === 0 ? h("p", {}, "No wallet.") :
        h("dl", { class: "props", "data-testid": "staff-balances" }, ...balances.flatMap((b) => [
          h("dt", {}, `${b.type} (${b.currency})`),
          h("dd", { class: "balance", "data-account": b.type }, formatMinor(b.available_minor, b.exponent, b.currency)),
        ])));
    }
    async function loadBalances(): Promise<void> {
      try {
        balances = (await app.api.get<{ balances: Balance[] }>(`/players/${enc}/balances`)).balances;
        drawBalances();
      } catch (e) {
        replace(balancesBox, e instanceof ApiError && e.status === 404 ? h("p", {}, "No wallet.") : errorBox(e));
      }
    }
    const adjustBox = h("div", {});
    function drawAdjust(): void {
      const currencies = [...new Set(balances.map((b) => b.currency))];
      if (currencies.length === 0) return;
      let key = idempotencyKey("backoffice");
      const form = h("form", { "aria-labelledby": "adjust-title" },
        h("h3", { id: "adjust-title" }, "Manual adjustment"),
        field({ name: "currency", label: "Currency", options: currencies.map((c) => [c, c]) }),
        field({ name: "account", label: "Account", options: [["cash", "Cash"], ["bonus", "Bonus"]] }),
        field({ name: "amount", label: "Amount", required: true, inputmode: "decimal",
          hint: "Positive credits the player, negative debits; e.g. 25.00 or -5." }),
        field({ name: "reason", label: "Reason", required: true, maxlength: 500, hint: "At least 3 characters; kept in the audit log." }),
        formError(),
        h("p", { class: "ok", role: "status" }),
        h("button", { type: "submit" }, "Apply adjustment"));
      onSubmit(form, async (v) => {
        const exponent = balances.find((b) => b.currency === v.currency)?.exponent ?? 2;
        const minor = parseMajor(v.amount, exponent);
        if (minor === null || minor === 0) {
          throw new ApiError(400, "validation_failed", `must be a non-zero amount with at most ${exponent} decimals`, "amount");
        }
        const r = await app.api.post<{ balance: Balance; audit_id: number }>("/admin/adjustments",
          { player_id: id, currency: v.currency, account: v.account, amount_minor: minor, reason: v.reason },
          { "Idempotency-Key": key });
        key = idempotencyKey("backoffice"); // this one is spent; a retry after a failure reuses it
        form.reset();
        form.querySelector(".ok")!.textContent =
          `Applied: ${v.account} is now ${formatMinor(r.balance.available_minor, r.balance.exponent, r.balance.currency)} (audit #${r.audit_id}).`;
        await loadBalances();
      });
      replace(adjustBox, form);
    }

    // ---- KYC ----
    const kycBox = h("div", {});
    async function loadKyc(): Promise<void> {
      let k: KycState;
      try {
        k = await app.api.get<KycState>(`/admin/kyc/${enc}`);
      } catch (e) {
        replace(kycBox, errorBox(e));
        return;
      }
      const decision = h("form", { "aria-labelledby": "kyc-decision-title" },
        h("h3", { id: "kyc-decision-title" }, "Decision"),
        field({ name: "decision", label: "Decision", options: [["verify", "Verify"], ["reject", "Reject"]] }),
        field({ name: "tier", label: "Tier (for verify)", options: [["1", "1: basic identity"], ["2", "2: enhanced (source of funds)"]] }),
        field({ name: "reason", label: "Reason", required: true, maxlength: 200 }),
        formError(),
        h("button", { type: "submit" }, "Record decision"));
      onSubmit(decision, async (v) => {
        const body: Record<string, unknown> = { decision: v.decision, reason: v.reason };
        if (v.decision === "verify") body.tier = Number(v.tier);
        await app.api.post(`/admin/kyc/${enc}/decision`, body);
        await loadKyc();
      });
      replace(kycBox,
        h("p", {}, "State: ", h("strong", { "data-testid": "kyc-state" }, k.state), k.tier ? `, tier ${k.tier}` : ""),
        k.documents.length ? h("ul", { class: "plain" }, ...k.documents.map((d) => h("li", {},
          `${d.type.replace(/_/g, " ")} `, h("code", {}, d.reference), ` - ${d.status}`,
          h("br"), h("span", { class: "hint" }, `submitted ${formatTime(d.submitted_at)}${d.reason ? `; ${d.reason}` : ""}`))))
          : h("p", {}, "No documents."),
        (k.events ?? []).length ? h("details", {}, h("summary", {}, "History"),
          h("ul", {}, ...(k.events ?? []).map((e) => h("li", {},
            `${formatTime(e.at)}: ${e.from} → ${e.to} (tier ${e.to_tier}) by ${e.actor}${e.reason ? `: ${e.reason}` : ""}`)))) : null,
        k.state === "pending" || k.state === "verified" ? decision : null);
    }

    const sections: Array<HTMLElement | null> = [
      h("div", { class: "card" }, h("h2", {}, "Profile"),
        h("dl", { class: "props" },
          h("dt", {}, "Player id"), h("dd", {}, h("code", {}, profile.player_id)),
          h("dt", {}, "E-mail"), h("dd", { "data-testid": "player-email" }, profile.email),
          h("dt", {}, "Date of birth"), h("dd", {}, profile.date_of_birth),
          h("dt", {}, "Brand"), h("dd", {}, profile.brand),
          h("dt", {}, "Country"), h("dd", {}, profile.country),
          h("dt", {}, "Status"), h("dd", { "data-testid": "player-status" }, profile.status),
          h("dt", {}, "Registered"), h("dd", {}, formatTime(profile.created_at)),
          h("dt", {}, "Login lock-out"), h("dd", {}, profile.login_locked_for_s ? `${profile.login_locked_for_s} s left` : "none")),
        profile.pii_masked ? h("p", { class: "hint" }, "Personal data is masked for your role.") : null),
      h("div", { class: "card" }, h("h2", {}, "Blocks"), blocksBox),
    ];
    if (app.can("ledger.read")) {
      await loadBalances();
      sections.push(h("div", { class: "card" }, h("h2", {}, "Balances"), balancesBox, app.can("ledger.adjust") ? adjustBox : null));
      if (app.can("ledger.adjust")) drawAdjust();
    }
    if (app.can("kyc.review")) {
      await loadKyc();
      sections.push(h("div", { class: "card" }, h("h2", {}, "KYC"), kycBox));
    }
    if (app.can("players.read")) {
      sections.push(h("div", { class: "card" }, h("h2", {}, "Responsible gaming"), await rgSection(app, enc)));
    }
    if (app.can("players.read")) {
      sections.push(h("div", { class: "card" }, h("h2", {}, "Notes"), await notesSection(app, enc)));
    }
    if (app.can("ledger.read")) {
      sections.push(h("div", { class: "card" }, h("h2", {}, "Transactions"),
        historyTable(app.api, `/players/${enc}/transactions`, () => balances)));
    }
    return h("section", {}, h("h1", {}, `Player ${profile.email}`), h("p", {}, h("a", { href: "/admin" }, "← Back to search")),
      ...sections);
  },
};

const KINDS: Record<string, string> = { deposit: "Deposit", loss: "Loss", wager: "Wager", session_time: "Session time" };

function limitText(l: RgLimit, which: "value_minor" | "used_minor" | "remaining_minor"): string {
  if (l.limit === "session_time") {
    const s = which === "value_minor" ? l.value_s : which === "used_minor" ? l.used_s : (l.value_s ?? 0) - (l.used_s ?? 0);
    return `${Math.round((s ?? 0) / 60)} min`;
  }
  const cur = l.currency ?? "";
  return formatMinor(l[which] ?? 0, exponentOf(cur), cur);
}

/** The player's RG status (GET /admin/players/{id}/rg): exclusion, rule set, limits with usage
 * and pending changes. */
async function rgSection(app: StaffApp, enc: string): Promise<HTMLElement> {
  let st: RgStatus;
  try {
    st = await app.api.get<RgStatus>(`/admin/players/${enc}/rg`);
  } catch (e) {
    return errorBox(e);
  }
  const ex = st.exclusion;
  return h("div", { "data-testid": "staff-rg" },
    h("dl", { class: "props" },
      h("dt", {}, "Rule set"), h("dd", {}, st.rule_set),
      h("dt", {}, "Exclusion"), h("dd", { "data-testid": "staff-rg-exclusion" }, ex
        ? `${ex.kind.replace("_", "-")} since ${formatTime(ex.from)}${ex.permanent ? ", permanent" : ex.until ? ` until ${formatTime(ex.until)}` : ""}` : "none"),
      h("dt", {}, "Marketing allowed"), h("dd", {}, st.marketing_allowed ? "yes" : "no"),
      h("dt", {}, "Deposit-limit prompt"), h("dd", {}, st.deposit_limit_prompt_required ? "not answered yet" : "answered or not required"),
      h("dt", {}, "Reality check"), h("dd", {}, st.reality_check_minutes ? `every ${st.reality_check_minutes} min` : "off")),
    st.limits.length === 0 ? h("p", {}, "No limits.") : h("div", { class: "table-wrap" }, h("table", { "data-testid": "staff-rg-limits" },
      h("thead", {}, h("tr", {}, ...["Limit", "Window", "Value", "Used", "Left", "Pending"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...st.limits.map((l) => h("tr", {},
        h("td", {}, KINDS[l.limit] ?? l.limit), h("td", {}, l.window),
        h("td", { class: "num" }, limitText(l, "value_minor")), h("td", { class: "num" }, limitText(l, "used_minor")),
        h("td", { class: "num" }, limitText(l, "remaining_minor")),
        h("td", {}, l.pending ? `${l.pending.removal ? "removal" : l.limit === "session_time" ? `${Math.round((l.pending.value_s ?? 0) / 60)} min`
          : formatMinor(l.pending.value_minor ?? 0, exponentOf(l.currency ?? ""), l.currency ?? "")} from ${formatTime(l.pending.effective_at)}` : "-")))))));
}

interface PlayerNote {
  seq: number;
  author: string;
  text: string;
  created_at: string;
}

/** Staff notes (GET/POST /admin/players/{id}/notes): newest first; adding needs players.block.
 * A note is never edited: a correction is a new note. */
async function notesSection(app: StaffApp, enc: string): Promise<HTMLElement> {
  const box = h("div", { "data-testid": "staff-notes" });
  async function load(): Promise<void> {
    let notes: PlayerNote[];
    try {
      notes = (await app.api.get<{ notes: PlayerNote[] }>(`/admin/players/${enc}/notes`)).notes;
    } catch (e) {
      replace(box, errorBox(e));
      return;
    }
    const list = notes.length === 0 ? h("p", {}, "No notes.")
      : h("ul", { class: "notes" }, ...notes.map((n) => h("li", {},
        h("p", {}, n.text), h("p", { class: "hint" }, `${formatTime(n.created_at)} by ${n.author}`))));
    if (!app.can("players.block")) {
      replace(box, list);
      return;
    }
    const form = h("form", { "aria-labelledby": "note-title" },
      h("h3", { id: "note-title" }, "Add a note"),
      field({ name: "text", label: "Note", required: true, maxlength: 2000 }),
      formError(),
      h("button", { type: "submit" }, "Add note"));
    onSubmit(form, async (v) => {
      await app.api.post(`/admin/players/${enc}/notes`, { text: v.text });
      await load();
    });
    replace(box, list, form);
  }
  await load();
  return box;
}
