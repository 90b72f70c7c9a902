// verification.ts: the player's identity verification (KYC): state and tier, what the
// jurisdiction requires it for, the documents sent, and a form to send one. No file is
// uploaded here: the reference names the document at the KYC provider or an upload service
// (docs/kyc.md).
import { h, formatTime } from "../../lib/dom";
import { field, formError, onSubmit } from "../../lib/form";
import type { Screen } from "../../lib/router";
import type { KycState } from "../../lib/types";
import type { PlayerApp } from "../app";

const TYPES: Array<[string, string]> = [["passport", "Passport"], ["id_card", "Identity card"],
  ["driving_licence", "Driving licence"], ["proof_of_address", "Proof of address"], ["source_of_funds", "Source of funds"]];

const STATES: Record<string, string> = {
  none: "Not verified yet",
  pending: "Waiting for review",
  verified: "Verified",
  rejected: "Not accepted: please send a new document",
};

export const verificationScreen: Screen<PlayerApp> = {
  title: "Verification",
  async render({ app, navigate }) {
    const k = await app.api.get<KycState>("/players/me/kyc");
    const form = h("form", { "aria-labelledby": "kyc-send-title" },
      h("h2", { id: "kyc-send-title" }, "Send a document"),
      field({ name: "type", label: "Document type", options: TYPES }),
      field({ name: "reference", label: "Document reference", required: true, maxlength: 200,
        pattern: "[A-Za-z0-9._:\\/\\-]+", hint: "The reference you received when uploading the document (letters, digits and . _ : / -)." }),
      formError(),
      h("button", { type: "submit" }, "Send"));
    onSubmit(form, async (v) => {
      await app.api.post("/players/me/kyc/documents", { type: v.type, reference: v.reference.trim() });
      navigate("/verification"); // shows the new state and the document
    });
    const required = k.kyc_required ?? [];
    return h("section", {},
      h("h1", {}, "Verification"),
      h("div", { class: "card" },
        h("p", {}, "Status: ", h("strong", { "data-testid": "kyc-state" }, STATES[k.state] ?? k.state),
          k.tier ? ` (level ${k.tier})` : ""),
        required.length ? h("p", { class: "hint" }, `Needed before: ${required.join(", ")}.`) : null,
        k.documents.length ? h("ul", { class: "plain" }, ...k.documents.map((d) => h("li", {},
          `${TYPES.find(([t]) => t === d.type)?.[1] ?? d.type}: `, h("code", {}, d.reference), ` - ${d.status}`,
          h("br"), h("span", { class: "hint" }, `sent ${formatTime(d.submitted_at)}`)))) : h("p", {}, "No documents sent yet.")),
      k.state === "verified" && k.tier >= 2 ? null : h("div", { class: "card" }, form));
  },
};
