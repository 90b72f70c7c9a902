// fair.ts: the provably-fair formulas (src/rng/rng.h, src/games/dice.c, roulette.c) recomputed
// in the browser with Web Crypto, so a player can check a round without trusting the server:
//   commitment = hex(SHA-256(server_seed as text));
//   bytes(round) = HMAC-SHA256(key = server_seed as text, "<client_seed>:<nonce>:<round>");
//   float = b0/256 + b1/256^2 + b2/256^3 + b3/256^4 from each 4 bytes in turn;
//   dice roll = floor(float * 10001) hundredths; roulette pocket = floor(float * 37).

const enc = new TextEncoder();

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

/** The first n floats of the stream of (server_seed, client_seed, nonce). */
export async function fairFloats(serverSeed: string, clientSeed: string, nonce: number, n: number): Promise<number[]> {
  const key = await crypto.subtle.importKey("raw", enc.encode(serverSeed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const out: number[] = [];
  for (let round = 0; out.length < n; round++) {
    const bytes = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${clientSeed}:${nonce}:${round}`)));
    for (let i = 0; i + 4 <= bytes.length && out.length < n; i += 4) {
      out.push(bytes[i] / 256 + bytes[i + 1] / 256 ** 2 + bytes[i + 2] / 256 ** 3 + bytes[i + 3] / 256 ** 4);
    }
  }
  return out;
}

/** The dice roll in hundredths (0 .. 10000). */
export async function diceRoll(serverSeed: string, clientSeed: string, nonce: number): Promise<number> {
  const [f] = await fairFloats(serverSeed, clientSeed, nonce, 1);
  return Math.floor(f * 10001);
}

/** The roulette pocket (0 .. 36). */
export async function roulettePocket(serverSeed: string, clientSeed: string, nonce: number): Promise<number> {
  const [f] = await fairFloats(serverSeed, clientSeed, nonce, 1);
  return Math.floor(f * 37);
}
