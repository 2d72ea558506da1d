// Exact decimal arithmetic for money and prices: BigInt in units of 1/10000 (four places), never floats.
// Shown with Indian digit grouping (12,34,567.50) everywhere on the trader's pages.

export const SCALE = 10000n;

// "1234.5" -> 12345000n; null for an empty or malformed value. Digits past the fourth place are dropped.
export function dec(text) {
  if (text === null || text === undefined || text === "") return null;
  const match = /^(-?)(\d*)(?:\.(\d{0,4})\d*)?$/.exec(String(text).trim());
  if (!match || (match[2] === "" && match[3] === undefined)) return null;
  const units = BigInt(match[2] || "0") * SCALE + BigInt((match[3] || "").padEnd(4, "0"));
  return match[1] ? -units : units;
}

// Whole rupees grouped the Indian way: 1234567 -> "12,34,567".
export function groupIndian(digits) {
  const text = String(digits);
  if (text.length <= 3) return text;
  const head = text.slice(0, -3);
  const tail = text.slice(-3);
  return head.replace(/\B(?=(\d{2})+(?!\d))/g, ",") + "," + tail;
}

// Units rounded half away from zero to `places` (0 to 4), grouped; "—" for a missing value.
export function money(units, places = 2) {
  if (units === null || units === undefined) return "—";
  const step = 10n ** BigInt(4 - places);
  const negative = units < 0n;
  const rounded = ((negative ? -units : units) + step / 2n) / step;
  const whole = rounded / 10n ** BigInt(places);
  const frac = (rounded % 10n ** BigInt(places)).toString().padStart(places, "0");
  return (negative && rounded !== 0n ? "-" : "") + groupIndian(whole) + (places ? "." + frac : "");
}

// The same without grouping, as an API or an input field takes it: "1234.50".
export function plain(units, places = 2) {
  return money(units, places).replace(/,/g, "");
}

// A whole number (a quantity, a volume) grouped: 1234567 -> "12,34,567".
export function count(value) {
  if (value === null || value === undefined || value === "") return "—";
  const number = Number(value);
  if (!Number.isFinite(number)) return "—";
  const sign = number < 0 ? "-" : "";
  return sign + groupIndian(Math.round(Math.abs(number)));
}

// Large amounts shortened as Indian readers say them: 1.25 Cr, 4.50 L; smaller ones in full.
export function compact(units) {
  if (units === null || units === undefined) return "—";
  const negative = units < 0n;
  const size = negative ? -units : units;
  const crore = 10000000n * SCALE;
  const lakh = 100000n * SCALE;
  let text;
  if (size >= crore) text = `${money((size * 100n) / crore * SCALE / 100n)} Cr`;
  else if (size >= lakh) text = `${money((size * 100n) / lakh * SCALE / 100n)} L`;
  else text = money(size);
  return (negative ? "-" : "") + text;
}

export function signClass(units) {
  if (units === null || units === undefined) return "";
  return units > 0n ? "up" : units < 0n ? "down" : "";
}

// Decimal places a price or tick carries, trailing zeros ignored: "0.05" -> 2, "1" -> 0.
export function decimals(text) {
  const part = String(text).split(".")[1];
  return part ? part.replace(/0+$/, "").length : 0;
}

// Units as a float for drawing only (the chart); never for sums.
export const toNumber = (units) => (units === null || units === undefined ? null : Number(units) / 10000);

// Percent change from `from` to `to`, as units of 1/10000 of a percent (so money() prints it to 2 places).
export function percent(to, from) {
  if (to === null || from === null || from === undefined || from === 0n) return null;
  return ((to - from) * 100n * SCALE) / from;
}
