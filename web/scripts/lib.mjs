// lib.mjs: helpers shared by the demo seed and the end-to-end tests: RFC 6238 TOTP codes (the
// staff login needs one) and a small JSON client of the API.
import { createHmac } from "node:crypto";

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Decode(text) {
  const clean = text.replace(/=+$/, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The 6-digit TOTP code of a base32 secret (SHA-1, 30 s steps) at unix time `at` (s). */
export function totp(secret, at = Date.now() / 1000) {
  const step = Math.floor(at / 30);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}

/** A fresh code: waits for the next step when the current one is nearly over (a code must
 * stay valid while the form is submitted) or was already used (codes are single use). */
export async function freshTotp(secret, usedCodes = new Set()) {
  for (;;) {
    const now = Date.now() / 1000;
    const code = totp(secret, now);
    if (30 - (now % 30) > 3 && !usedCodes.has(code)) {
      usedCodes.add(code);
      return code;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** fetch JSON from the API; returns {status, body, headers}. */
export async function call(base, method, path, { token, body, headers } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = text;
  }
  return { status: res.status, body: doc, headers: res.headers };
}
