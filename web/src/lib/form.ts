// form.ts: accessible forms: every input has a <label>, errors are announced (role=alert)
// and a problem's `field` puts the message on that input (aria-invalid, aria-describedby).
import { ApiError } from "./api";
import { formatTime, h, uid } from "./dom";
import { exponentOf, formatMinor } from "./money";

export interface FieldOptions {
  name: string;
  label: string;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  inputmode?: string;
  value?: string;
  hint?: string;
  pattern?: string;
  maxlength?: number;
  min?: string;
  max?: string;
  options?: Array<[string, string]>; // a <select>: [value, label]
}

/** A labelled input (or select) with its hint and its error slot. */
export function field(o: FieldOptions): HTMLElement {
  const id = uid(o.name);
  const hintId = o.hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  const describedBy = [hintId, errId].filter(Boolean).join(" ");
  let input: HTMLElement;
  if (o.options) {
    input = h("select", { id, name: o.name, required: o.required, "aria-describedby": describedBy },
      ...o.options.map(([v, l]) => h("option", { value: v, selected: v === o.value }, l)));
  } else {
    input = h("input", {
      id, name: o.name, type: o.type ?? "text", required: o.required, autocomplete: o.autocomplete,
      inputmode: o.inputmode, value: o.value, pattern: o.pattern, maxlength: o.maxlength, min: o.min,
      max: o.max, "aria-describedby": describedBy,
    });
  }
  return h("div", { class: "field", "data-field": o.name },
    h("label", { for: id }, o.label),
    o.hint ? h("p", { class: "hint", id: hintId }, o.hint) : null,
    input,
    h("p", { class: "error", id: errId, role: "alert", hidden: true }));
}

export function formError(): HTMLElement {
  return h("p", { class: "error form-error", role: "alert", hidden: true });
}

/** Clears every error of the form. */
export function clearErrors(form: HTMLFormElement): void {
  for (const el of form.querySelectorAll<HTMLElement>(".error")) {
    el.textContent = "";
    el.hidden = true;
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Shows err: on the input named by its field when the form has one, else in the form's
 * error slot. */
export function showError(form: HTMLFormElement, err: unknown): void {
  const message = describe(err);
  const name = err instanceof ApiError ? err.field : undefined;
  const wrap = name ? form.querySelector<HTMLElement>(`[data-field="${CSS.escape(name)}"]`) : null;
  const slot = wrap?.querySelector<HTMLElement>(".error") ?? form.querySelector<HTMLElement>(".form-error");
  if (wrap) {
    const input = wrap.querySelector("input,select");
    input?.setAttribute("aria-invalid", "true");
    (input as HTMLElement | null)?.focus();
  }
  if (slot) {
    slot.textContent = message;
    slot.hidden = false;
  }
}

/** A sentence for an error: problem details speak in codes and details. */
export function describe(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const known: Record<string, string> = {
    invalid_credentials: "The e-mail or password is not right.",
    totp_required: "Enter the code from your authenticator app.",
    invalid_totp: "That code is not right; try the current one.",
    totp_replayed: "That code was already used; wait for the next one.",
    email_taken: "An account with this e-mail already exists.",
    account_blocked: "This account is blocked; contact support.",
    forbidden: "Your role does not allow this.",
    self_excluded: "You are in a time-out or self-exclusion: bets and deposits are paused.",
    insufficient_funds: "Your balance is too low for this stake.",
    deposit_limit_prompt_required: "Please set a deposit limit or decline the prompt before depositing.",
    kyc_required: "Please verify your identity first (Verification page).",
    game_disabled: "This game is switched off at the moment.",
  };
  if (err.code === "limit_exceeded") return limitSentence(err.problem);
  if (err.code === "too_many_attempts") {
    return `Too many attempts; try again in ${err.retryAfterS ?? 60} seconds.`;
  }
  if (known[err.code]) return known[err.code];
  return err.detail ? `${err.detail.charAt(0).toUpperCase()}${err.detail.slice(1).replace(/_/g, " ")}.` : err.code;
}

/** Wires submit: reads the form's values, disables the submit button while busy, shows
 * errors. */
export function onSubmit(form: HTMLFormElement, handler: (values: Record<string, string>) => Promise<void>): void {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]");
    if (button) button.disabled = true;
    form.setAttribute("aria-busy", "true");
    const values: Record<string, string> = {};
    new FormData(form).forEach((v, k) => (values[k] = String(v)));
    try {
      await handler(values);
    } catch (e) {
      showError(form, e);
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

const LIMIT_NAMES: Record<string, string> = { deposit: "deposit", loss: "loss", wager: "wager", session_time: "session time" };

/** "Your wager limit over 24h stops this: 29.00 of 40.00 EUR used, 11.00 EUR left (resets ...)." */
export function limitSentence(p: Record<string, unknown>): string {
  const kind = LIMIT_NAMES[String(p.limit ?? "")] ?? String(p.limit ?? "");
  const win = String(p.window ?? "");
  let s = `Your ${kind} limit over ${win} stops this`;
  if (typeof p.limit_minor === "number" && typeof p.used_minor === "number" && typeof p.currency === "string") {
    const cur = p.currency;
    const f = (m: number) => formatMinor(m, exponentOf(cur), cur);
    s += `: ${f(p.used_minor)} used of ${f(p.limit_minor)}`;
    if (typeof p.remaining_minor === "number") s += `, ${f(Math.max(0, p.remaining_minor))} left`;
  } else if (typeof p.limit_s === "number" && typeof p.used_s === "number") {
    s += `: ${Math.round(p.used_s / 60)} of ${Math.round(p.limit_s / 60)} minutes used`;
  }
  if (typeof p.resets_at === "string") s += ` (room again from ${formatTime(p.resets_at)})`;
  return `${s}.`;
}
