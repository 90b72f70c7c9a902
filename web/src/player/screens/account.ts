// account.ts: the player's account: profile and blocks, live sessions (revoke any; revoking
// this one logs out), and two-factor authentication (TOTP enrolment with recovery codes, and
// turning it off with a code).
import { h, replace, formatTime } from "../../lib/dom";
import { describe, field, formError, onSubmit } from "../../lib/form";
import type { Screen } from "../../lib/router";
import type { Player, Session } from "../../lib/types";
import type { PlayerApp } from "../app";

export const accountScreen: Screen<PlayerApp> = {
  title: "Account",
  async render({ app }) {
    const me = await app.api.get<Player>("/players/me");
    const sessions = h("div", {});
    const totp = h("div", {});

    async function drawSessions(): Promise<void> {
      const r = await app.api.get<{ sessions: Session[] }>("/sessions");
      replace(sessions, h("ul", { class: "plain", "data-testid": "sessions" }, ...r.sessions.map((s) =>
        h("li", { class: "row" },
          h("span", {}, s.current ? "This device" : `Session from ${s.ip}`, h("br"),
            h("span", { class: "hint" }, `Last seen ${formatTime(s.last_seen_at)}; expires ${formatTime(s.expires_at)}`)),
          h("button", { type: "button", class: "secondary", "aria-label": s.current ? "Log out this device" : `Revoke session from ${s.ip}`,
            onclick: async () => {
              try {
                await app.api.del(`/sessions/${encodeURIComponent(s.id)}`);
              } catch (e) {
                sessions.append(h("p", { class: "error", role: "alert" }, describe(e)));
                return;
              }
              if (s.current) app.end();
              else await drawSessions();
            } }, s.current ? "Log out" : "Revoke")))));
    }

    function drawTotp(enabled: boolean): void {
      if (enabled) {
        const form = h("form", {},
          field({ name: "code", label: "Code to turn it off", inputmode: "numeric", autocomplete: "one-time-code", required: true,
            hint: "A code from your app or a recovery code." }),
          formError(),
          h("button", { type: "submit", class: "danger" }, "Turn off two-factor authentication"));
        onSubmit(form, async (v) => {
          await app.api.del("/players/me/totp", { code: v.code.trim() });
          drawTotp(false);
        });
        replace(totp, h("p", { class: "ok" }, "Two-factor authentication is on."), form);
        return;
      }
      const start = h("button", { type: "button", onclick: async () => {
        start.disabled = true;
        try {
          const r = await app.api.post<{ secret: string; otpauth_uri: string }>("/players/me/totp");
          enrol(r.secret, r.otpauth_uri);
        } catch (e) {
          totp.append(h("p", { class: "error", role: "alert" }, describe(e)));
          start.disabled = false;
        }
      } }, "Set up two-factor authentication");
      replace(totp, h("p", {}, "Two-factor authentication is off. With it on, logging in also needs a code from an authenticator app."), start);
    }

    function enrol(secret: string, uri: string): void {
      const form = h("form", {},
        field({ name: "code", label: "Code from your app", inputmode: "numeric", autocomplete: "one-time-code", required: true,
          pattern: "[0-9]{6}", maxlength: 6 }),
        formError(),
        h("button", { type: "submit" }, "Confirm"));
      onSubmit(form, async (v) => {
        const r = await app.api.post<{ recovery_codes: string[] }>("/players/me/totp/confirm", { code: v.code.trim() });
        replace(totp,
          h("p", { class: "ok", role: "status" }, "Two-factor authentication is on."),
          h("p", {}, "Keep these recovery codes somewhere safe. Each works once, instead of a code, if you lose your phone. They are shown only now."),
          h("ul", { class: "plain secret", "data-testid": "recovery-codes" }, ...r.recovery_codes.map((c) => h("li", {}, c))),
          h("button", { type: "button", class: "secondary", onclick: () => drawTotp(true) }, "Done"));
      });
      replace(totp,
        h("p", {}, "Add this key to your authenticator app (or open the link on your phone), then enter the code it shows."),
        h("p", {}, "Key: ", h("code", { class: "secret", "data-testid": "totp-secret" }, secret)),
        h("p", {}, h("a", { href: uri }, "Open in authenticator app")),
        form);
    }

    await drawSessions();
    drawTotp(me.totp_enabled === true);
    const blocks = me.blocks ?? [];
    return h("section", {},
      h("h1", {}, "Account"),
      h("div", { class: "columns" },
        h("div", { class: "card" }, h("h2", {}, "Profile"),
          h("dl", { class: "props" },
            h("dt", {}, "E-mail"), h("dd", {}, me.email),
            h("dt", {}, "Date of birth"), h("dd", {}, me.date_of_birth),
            h("dt", {}, "Country"), h("dd", {}, me.country),
            h("dt", {}, "Currency"), h("dd", {}, me.currency),
            h("dt", {}, "Status"), h("dd", {}, me.status),
            h("dt", {}, "Member since"), h("dd", {}, formatTime(me.created_at))),
          blocks.length ? h("div", {}, h("h3", {}, "Restrictions"),
            h("ul", {}, ...blocks.map((b) => h("li", {}, `${b.block}: ${b.reason}`)))) : null),
        h("div", { class: "card" }, h("h2", {}, "Two-factor authentication"), totp)),
      h("div", { class: "card" }, h("h2", {}, "Sessions"), sessions));
  },
};
