// money.ts: amounts are integers in minor units (docs/ledger.md); the UI converts to and from
// text with string arithmetic, never through floating point.

/** 12345, exponent 2, "EUR" -> "123.45 EUR"; -5 -> "-0.05 EUR". */
export function formatMinor(minor: number, exponent: number, currency: string): string {
  const negative = minor < 0;
  let digits = Math.abs(minor).toString();
  if (exponent > 0) {
    digits = digits.padStart(exponent + 1, "0");
    const whole = digits.slice(0, digits.length - exponent);
    const frac = digits.slice(digits.length - exponent);
    digits = `${Number(whole).toLocaleString("en-US")}.${frac}`;
  } else {
    digits = Number(digits).toLocaleString("en-US");
  }
  return `${negative ? "-" : ""}${digits} ${currency}`;
}

/** "12.5" with exponent 2 -> 1250; null for text that is not a decimal amount with at most
 * exponent fraction digits (or that does not fit a safe integer). */
export function parseMajor(text: string, exponent: number): number | null {
  const m = /^\s*(-?)(\d{1,15})(?:\.(\d+))?\s*$/.exec(text);
  if (!m) return null;
  const frac = m[3] ?? "";
  if (frac.length > exponent) return null;
  const minor = Number(m[2] + frac.padEnd(exponent, "0"));
  if (!Number.isSafeInteger(minor)) return null;
  return m[1] === "-" ? -minor : minor;
}

/** The exponent of a currency for answers that do not carry one (withdrawals, problems):
 * ISO 4217 zero-decimal currencies, 8 for BTC, else 2. Answers with `exponent` win. */
export function exponentOf(currency: string): number {
  if (["JPY", "KRW", "CLP", "ISK", "VND", "XOF", "XAF"].includes(currency)) return 0;
  if (currency === "BTC") return 8;
  return 2;
}
