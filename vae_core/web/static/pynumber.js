// Python's float(), int() and str.strip() on values from the page, in JavaScript.
//
// Why: the page composes latents and parses pasted latent strings itself, and must accept and refuse exactly
// what the server's Python does (vae_core/slider_layout.py `_finite` and `int(value)`, vae_core/latent.py
// `parse_latent`), or a face would differ between the page and the server for the same input. JavaScript's
// Number() is not Python's float(): Number("") is 0, Number("1_000") is NaN, Number("0x10") is 16, and
// Number(" inf ") is NaN. Shared by compose.js and latent_string.js.
//
// Exports:
//   PY_SPACE                      the characters Python's str.isspace() accepts, as a regex character-class body
//   pyStrip(text) -> string       str.strip()
//   parsePyFloat(text) -> number | null    float(text), or null where Python raises ValueError
//   parsePyInt(text) -> number | null      int(text) (base 10), or null where Python raises ValueError
//   pyFinite(value) -> number     slider_layout._finite: float(value) if finite, else 0 (non-numbers count as 0)
//   pyInt(value) -> number | null int(value) for a target value: null where Python raises (ValueError/TypeError)
//
// Not covered (never typed into a slider or a latent string): non-ASCII digits, which Python's float() and int()
// also accept.

/** Python's whitespace (str.isspace: Unicode White_Space plus the ASCII separators \x1c–\x1f), for a [...] class. */
export const PY_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
// float(): digits may be grouped by single underscores ("1_000.5"), either side of the point may be empty (not
// both), an optional exponent; or inf / infinity / nan in any case, with an optional sign.
const FLOAT = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;
const INT = /^[+-]?\d(?:_?\d)*$/;

/** Python's ``text.strip()``. */
export function pyStrip(text) {
  return String(text).replace(STRIP, "");
}

/** Python's ``float(text)`` for a string: the number, or null where Python raises ValueError. */
export function parsePyFloat(text) {
  const s = pyStrip(text);
  const special = SPECIAL.exec(s);
  if (special) {
    if (special[2].toLowerCase() === "nan") return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  if (!FLOAT.test(s)) return null;
  // Both Python and JavaScript round decimal text to the nearest double, so the values agree exactly.
  return Number(s.replace(/_/g, ""));
}

/** Python's ``int(text)`` (base 10) for a string: the number, or null where Python raises ValueError. */
export function parsePyInt(text) {
  const s = pyStrip(text);
  if (!INT.test(s)) return null;
  return Number(s.replace(/_/g, ""));
}

/** slider_layout._finite: ``float(value)`` where that is a finite number, else 0 (None, lists, "abc", NaN, ±inf). */
export function pyFinite(value) {
  let f;
  if (typeof value === "number") f = value;
  else if (typeof value === "boolean") f = value ? 1 : 0;
  else if (typeof value === "bigint") f = Number(value);
  else if (typeof value === "string") f = parsePyFloat(value);
  else return 0;
  return f !== null && Number.isFinite(f) ? f : 0;
}

/** ``int(value)`` as SliderLayout.compose applies it to a target value: a whole number, or null where Python raises
 * (a string that is not a whole number, NaN, an object). Floats truncate toward zero like Python's int(2.7) = 2.
 * ±Infinity gives null (Python raises OverflowError there, which compose does not catch). */
export function pyInt(value) {
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) + 0 : null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string") return parsePyInt(value);
  return null;
}
