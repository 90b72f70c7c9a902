// seed.mjs: the demo data of `make run`, through the real API (docs/web.md): demo players of
// brand "demo" with cash credited by a staff adjustment and a deposit through the sandbox PSP;
// alice has played a few rounds (dice, roulette, a slot), bob is verified (KYC tier 1) and has
// a withdrawal waiting in the back office's review queue. Idempotent: registering an existing
// player answers 409 (taken: fine), and every money movement carries a fixed Idempotency-Key,
// so a rerun changes nothing. Needs PITBOSS_URL and PITBOSS_STAFF_TOKEN (the service token).
import { call } from "./lib.mjs";

const base = process.env.PITBOSS_URL ?? "http://127.0.0.1:8080";
const token = process.env.PITBOSS_STAFF_TOKEN;
if (!token) {
  console.error("seed: PITBOSS_STAFF_TOKEN is not set");
  process.exit(2);
}

export const DEMO_PASSWORD = "Demo-Table-2026";
const players = [
  { email: "alice@pitboss.test", currency: "EUR", country: "DE", date_of_birth: "1990-04-01", credit_minor: 100000, plays: true },
  { email: "bob@pitboss.test", currency: "USD", country: "US", date_of_birth: "1985-09-12", credit_minor: 25000, withdrawal_minor: 5000 },
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
  await activity(p, id);
}

function must(r, what, ...ok) {
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The player's own activity, each step under a fixed key (replays answer the same). */
async function activity(p, id) {
  const session = must(await call(base, "POST", "/sessions", { body: { brand: "demo", email: p.email, password: DEMO_PASSWORD } }),
    `logging in ${p.email}`, 201);
  const me = session.token;
  const dep = must(await call(base, "POST", "/payments/deposits", { token: me, headers: { "Idempotency-Key": `demo-seed-deposit:${id}` },
    body: { method: "bank_transfer", amount_minor: 20000, currency: p.currency } }), `deposit for ${p.email}`, 201);
  for (let i = 0; i < 50; i++) { // the sandbox PSP confirms asynchronously
    const d = must(await call(base, "GET", `/payments/deposits/${dep.deposit_id}`, { token: me }), "deposit state", 200);
    if (d.state === "succeeded" || d.state === "failed" || d.state === "expired") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (p.plays) {
    const plays = [
      ["dice", { stake_minor: 200, bet: { target: 4950, direction: "under" } }],
      ["dice", { stake_minor: 100, bet: { target: 7500, direction: "over" } }],
      ["roulette", { stake_minor: 100, bet: { bets: [{ kind: "red", chips: 2 }, { kind: "straight", numbers: [7], chips: 1 }] } }],
      ["lucky-sevens", { stake_minor: 20 }],
      ["golden-reef", { stake_minor: 5 }],
    ];
    for (const [n, [game, body]] of plays.entries()) {
      must(await call(base, "POST", `/games/${game}/play`, { token: me, headers: { "Idempotency-Key": `demo-seed-play:${id}:${n}` },
        body: { currency: p.currency, ...body } }), `${game} for ${p.email}`, 201);
    }
  }
  if (p.withdrawal_minor) {
    const kyc = must(await call(base, "GET", `/admin/kyc/${id}`, { token }), "kyc state", 200);
    if (kyc.state === "none") {
      must(await call(base, "POST", "/players/me/kyc/documents", { token: me, body: { type: "passport", reference: "demo/passport-bob" } }),
        "kyc document", 201, 200);
      must(await call(base, "POST", `/admin/kyc/${id}/decision`, { token, body: { decision: "verify", tier: 1, reason: "demo seed" } }),
        "kyc decision", 200);
    }
    must(await call(base, "POST", "/payments/withdrawals", { token: me, headers: { "Idempotency-Key": `demo-seed-withdrawal:${id}` },
      body: { method: "bank_transfer", amount_minor: p.withdrawal_minor, currency: p.currency } }), `withdrawal for ${p.email}`, 201);
  }
}
console.log(players.map((p) => `  player  ${p.email}  password ${DEMO_PASSWORD}`).join("\n"));
