// seed.mjs: the demo data of `make run`, through the real API (docs/web.md): demo players of
// brand "demo" with cash credited by a staff adjustment. Idempotent: registering an existing
// player answers 409 (taken: fine), and each credit carries a fixed Idempotency-Key, so a
// rerun changes nothing. Needs PITBOSS_URL and PITBOSS_STAFF_TOKEN (the service token).
import { call } from "./lib.mjs";

const base = process.env.PITBOSS_URL ?? "http://127.0.0.1:8080";
const token = process.env.PITBOSS_STAFF_TOKEN;
if (!token) {
  console.error("seed: PITBOSS_STAFF_TOKEN is not set");
  process.exit(2);
}

export const DEMO_PASSWORD = "Demo-Table-2026";
const players = [
  { email: "alice@pitboss.test", currency: "EUR", country: "DE", date_of_birth: "1990-04-01", credit_minor: 100000 },
  { email: "bob@pitboss.test", currency: "USD", country: "US", date_of_birth: "1985-09-12", credit_minor: 25000 },
];

for (const p of players) {
  const reg = await call(base, "POST", "/players", {
    body: { brand: "demo", email: p.email, password: DEMO_PASSWORD, date_of_birth: p.date_of_birth, country: p.country, currency: p.currency },
  });
  if (reg.status !== 201 && !(reg.status === 409 && reg.body?.code === "email_taken")) {
    throw new Error(`registering ${p.email}: ${reg.status} ${JSON.stringify(reg.body)}`);
  }
  const found = await call(base, "GET", `/admin/players?email=${encodeURIComponent(p.email)}&limit=1`, { token });
  const id = found.body?.players?.[0]?.player_id;
  if (!id) throw new Error(`finding ${p.email}: ${found.status} ${JSON.stringify(found.body)}`);
  const adj = await call(base, "POST", "/admin/adjustments", {
    token,
    headers: { "Idempotency-Key": `demo-seed:${id}` },
    body: { player_id: id, currency: p.currency, account: "cash", amount_minor: p.credit_minor, reason: "demo seed: welcome credit" },
  });
  if (adj.status !== 201) throw new Error(`crediting ${p.email}: ${adj.status} ${JSON.stringify(adj.body)}`);
}
console.log(players.map((p) => `  player  ${p.email}  password ${DEMO_PASSWORD}`).join("\n"));
