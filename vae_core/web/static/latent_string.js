// The shareable latent string ``cvae1:<model id>:<base64url float16>``: vae_core/latent.py format_latent and
// parse_latent, in the page.
//
// Why: the static page has no server to format or parse latents, and the app's page copies the face it shows
// without a round trip. A string copied in the page must be the server's string for the same latent byte for byte,
// and a paste the page refuses must be one the server refuses too (tests/test_page_js.py compares both ways).
//
// Exports:
//   LATENT_PREFIX = "cvae1", LATENT_ABS_MAX = 65504 (the largest float16), MAX_TEXT = 64000
//   class LatentFormatError extends Error     (a paste the user must fix; the message says what is wrong)
//   float16Bits(x) -> int     a number's float16 bit pattern, round-to-nearest-even from the exact double, like
//                             numpy's astype("<f2") (Node 20 has no Float16Array); ±Infinity beyond 65519.99…
//   float16Value(bits) -> number             the value of a float16 bit pattern (subnormals, ±Infinity, NaN)
//   modelId8(modelId) -> string              the first 8 hex digits of a model id, lower case (Error otherwise)
//   formatLatent(z, modelId) -> string       z: Float32Array or numbers; Error if empty, non-finite or beyond ±65504
//   parseLatent(text, latentDim, modelId = null) -> Float32Array[latentDim]    throws LatentFormatError

import {PY_SPACE, parsePyFloat, pyStrip} from "./pynumber.js";

export const LATENT_PREFIX = "cvae1";
export const LATENT_ABS_MAX = 65504;
export const MAX_TEXT = 64000;

const HEX8 = /^[0-9a-f]{8}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LIST_SEPARATORS = new RegExp(`[,${PY_SPACE}]+`);

/** A latent the user pasted cannot be used (vae_core.errors.LatentFormatError). */
export class LatentFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = "LatentFormatError";
  }
}

/** Python's repr() of what the messages quote (text, or None). */
function pyRepr(v) {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v !== "string") return String(v);
  const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
  let body = v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  if (quote === "'") body = body.replace(/'/g, "\\'");
  return quote + body + quote;
}

/** The Python type name of what JSON or a caller passed instead of text, for the message. */
function pyTypeName(v) {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "list";
  return typeof v === "object" ? "dict" : typeof v;
}

/** Round a non-negative number below 2^52 to a whole number, ties to even (exact: no step here rounds). */
function roundHalfEven(m) {
  const f = Math.floor(m);
  const d = m - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** The float16 bit pattern of x, rounded to nearest, ties to even, from the exact double (numpy's
 * npy_double_to_half: one rounding, so a float64 just above a float16 tie rounds up even where float32 would
 * have rounded it onto the tie first). */
export function float16Bits(x) {
  const v = Number(x);
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;  // 65520 is the tie between 65504 and 2^16 (infinity): even wins
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);  // subnormal: units of 2^-24 (may carry to 2^-14)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;  // log2 may be one off right at a power of two
  else if (2 ** (e + 1) <= a) e += 1;
  let q = roundHalfEven((a / 2 ** e) * 1024);  // 10 fraction bits; scaling by powers of two is exact
  if (q === 2048) { q = 1024; e += 1; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (q - 1024);
}

/** The value of float16 bits. */
export function float16Value(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

function base64url(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

/** Unpadded base64url → bytes. `text` matches B64URL with length % 4 != 1; leftover bits are ignored, as Python's
 * base64.urlsafe_b64decode ignores them. */
function unbase64url(text) {
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    acc = ((acc << 6) | ALPHABET.indexOf(text[i])) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[j++] = (acc >> bits) & 0xff;
    }
  }
  return bytes;
}

/** str(model_id).strip().lower()[:8], which must be 8 hex digits (latent.py _model_id8). */
export function modelId8(modelId) {
  const mid = pyStrip(String(modelId)).toLowerCase().slice(0, 8);
  if (!HEX8.test(mid)) {
    throw new Error(`model_id must start with 8 hex digits (a weights fingerprint), got ${pyRepr(modelId)}`);
  }
  return mid;
}

/** ``cvae1:<model id, 8 hex>:<base64url, unpadded, of float16 little-endian>`` of z (latent.py format_latent). */
export function formatLatent(z, modelId) {
  const values = Array.from(z ?? [], (v) => (typeof v === "number" ? v : NaN));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || Math.abs(v) > LATENT_ABS_MAX)) {
    throw new Error(`a latent to format must be non-empty, finite and within ±${LATENT_ABS_MAX}`);
  }
  const mid = modelId8(modelId);
  const bytes = new Uint8Array(2 * values.length);
  values.forEach((v, i) => {
    const h = float16Bits(v);
    bytes[2 * i] = h & 0xff;
    bytes[2 * i + 1] = h >> 8;
  });
  return `${LATENT_PREFIX}:${mid}:${base64url(bytes)}`;
}

function parseNumberList(s, latentDim) {
  let body = s;
  if ("[(".includes(body.slice(0, 1)) && "])".includes(body.slice(-1))) body = body.slice(1, -1);
  const tokens = pyStrip(body).split(LIST_SEPARATORS).filter((t) => t);
  const values = tokens.map(parsePyFloat);
  if (values.every((v) => v === null)) {
    throw new LatentFormatError(
      `not a latent: expected a '${LATENT_PREFIX}:<model id>:<data>' string or ${latentDim} comma-separated numbers`);
  }
  const bad = values.indexOf(null);
  if (bad >= 0) {
    throw new LatentFormatError(`value ${bad + 1} of the list, ${pyRepr(tokens[bad].slice(0, 20))}, is not a number`);
  }
  if (values.length !== latentDim) {
    throw new LatentFormatError(
      `the list has ${values.length} numbers but this model has ${latentDim} latent dimensions`);
  }
  return values;
}

function parseLatentString(s, latentDim, modelId) {
  const parts = s.split(":");
  const tag = pyStrip(parts[0]).toLowerCase();
  if (tag !== LATENT_PREFIX) {
    if (/^cvae\d+$/.test(tag)) {
      throw new LatentFormatError(
        `unsupported latent format ${pyRepr(parts[0].slice(0, 10))}; this version reads '${LATENT_PREFIX}:' strings`);
    }
    throw new LatentFormatError(
      `not a latent string: expected '${LATENT_PREFIX}:<model id>:<data>' or ${latentDim} comma-separated numbers`);
  }
  if (parts.length !== 3) {
    throw new LatentFormatError(
      `a latent string has three ':'-separated parts ('${LATENT_PREFIX}:<model id>:<data>'), ` +
      `this one has ${parts.length}`);
  }
  const mid = pyStrip(parts[1]).toLowerCase();
  const payload = pyStrip(parts[2]);
  if (!HEX8.test(mid)) {
    throw new LatentFormatError(
      `the model id ${pyRepr(parts[1].slice(0, 20))} in the latent string is not 8 hex digits`);
  }
  if (modelId !== null && modelId !== undefined && mid !== modelId8(modelId)) {
    throw new LatentFormatError(
      `this latent was copied from another model (${mid}) but the loaded model is ${modelId8(modelId)}; latents ` +
      "only mean something in the model that made them. Open that checkpoint, or copy a latent from this model");
  }
  if (!B64URL.test(payload) || payload.length % 4 === 1) {
    throw new LatentFormatError("the data part of the latent string is damaged (not base64url)");
  }
  const raw = unbase64url(payload);
  if (raw.length !== 2 * latentDim) {
    throw new LatentFormatError(
      `the latent string holds ${raw.length / 2} values but this model has ${latentDim} latent dimensions ` +
      "(truncated copy, or a different model)");
  }
  const values = new Array(latentDim);
  for (let i = 0; i < latentDim; i++) values[i] = float16Value(raw[2 * i] | (raw[2 * i + 1] << 8));
  return values;
}

/** A pasted latent → Float32Array[latentDim] (latent.py parse_latent): what formatLatent writes, or latentDim
 * numbers separated by commas and/or spaces (optionally in [ ] or ( )). With `modelId`, a cvae1 string of another
 * model is refused. Throws LatentFormatError saying what is wrong (an Error for a bad latentDim or modelId). */
export function parseLatent(text, latentDim, modelId = null) {
  if (typeof text !== "string") throw new LatentFormatError(`a latent must be text, got ${pyTypeName(text)}`);
  if (!Number.isSafeInteger(latentDim) || latentDim < 1) throw new Error(`latent_dim must be >= 1, got ${latentDim}`);
  const s = pyStrip(text);
  if (!s) {
    throw new LatentFormatError(
      `the latent is empty: paste a '${LATENT_PREFIX}:…' string or ${latentDim} comma-separated numbers`);
  }
  if (s.length > MAX_TEXT) {
    const characters = [...s].length;  // Python counts code points, JavaScript UTF-16 units
    if (characters > MAX_TEXT) throw new LatentFormatError(`the latent text is too long (${characters} characters)`);
  }
  const values = s.includes(":") ? parseLatentString(s, latentDim, modelId) : parseNumberList(s, latentDim);
  if (!values.every(Number.isFinite)) throw new LatentFormatError("the latent contains NaN or infinite values");
  if (values.some((v) => Math.abs(v) > LATENT_ABS_MAX)) {
    throw new LatentFormatError(`the latent has values beyond ±${LATENT_ABS_MAX}`);
  }
  return Float32Array.from(values);
}
