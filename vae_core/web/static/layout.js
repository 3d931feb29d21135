// A checkpoint's page layout (vae_core/web/page_layout.py) read into typed arrays, checked once on load.
//
// Why: every other page module (compose.js, mixture.js) indexes these arrays in tight loops and trusts their
// shapes; a layout file from another version, a truncated download or a hand-edited file must fail here, with a
// message naming the bad field, not as NaN faces later. Large arrays travel as {shape, f32: base64 little-endian
// float32} (page_layout.f32) and become Float32Arrays without a number parser in the loop.
//
// Exports:
//   FORMAT = "cvae-page-layout", VERSION = 1
//   decodeF32(doc, name = "array") -> Float32Array      (checks length = product of shape; `name` for messages)
//   parseLayout(obj) -> Layout                          (throws Error naming the bad field)
//
// Layout = {
//   modelId: string (8 hex), latentDim: Z, resolution: R, title: string, synthetic: boolean,
//   ranges: {raw, pca, attr, step},
//   mean: Float32Array[Z],
//   raw: [{dim, kl, active, label}],                       (the raw slider slots, in order)
//   pca: {k, components: Float32Array[k*Z], stds: number[k], ratios: number[k]},
//   attrs: [{name, title, values: int[V], names: string[V], counts: int[V], defaultTarget: int | null,
//            directions: Float32Array[V*Z]}],
//   sampler: null | {covarianceType: "diag" | "full" | "tied" | "grouped", describe: string, k: K,
//                    weights: number[K], means: Float32Array[K*Z], scales: Float32Array[K*Z] (diag std devs),
//                    [K*Z*Z] (full: row-major lower Cholesky factors), [Z*Z] (tied: one factor all components
//                    share) or [G*Z*Z] (grouped: G factors, component k uses factor scaleOf[k]),
//                    scaleOf: int[K] (grouped) | null},
// }

export const FORMAT = "cvae-page-layout";
export const VERSION = 1;

function fail(field, problem) {
  throw new Error(`the page layout is invalid: ${field} ${problem}`);
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v);
  return typeof v === "object" ? "an object" : String(v);
}

function int(v, field, min = 0) {
  if (!Number.isSafeInteger(v) || v < min) fail(field, `must be a whole number >= ${min}, got ${describe(v)}`);
  return v;
}

function num(v, field) {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(field, `must be a finite number, got ${describe(v)}`);
  return v;
}

function str(v, field) {
  if (typeof v !== "string") fail(field, `must be text, got ${describe(v)}`);
  return v;
}

function bool(v, field) {
  if (typeof v !== "boolean") fail(field, `must be true or false, got ${describe(v)}`);
  return v;
}

function list(v, field, length = null) {
  if (!Array.isArray(v)) fail(field, `must be a list, got ${describe(v)}`);
  if (length !== null && v.length !== length) fail(field, `must have ${length} entries, got ${v.length}`);
  return v;
}

function obj(v, field) {
  if (!isObject(v)) fail(field, `must be an object, got ${describe(v)}`);
  return v;
}

function bytesOfBase64(text, name) {
  let binary;
  try {
    binary = atob(text);
  } catch (e) {
    throw new Error(`the page layout is invalid: ${name}.f32 is not base64`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function littleEndianHost() {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** An array document {shape: int[], f32: base64 of little-endian float32, C order} → Float32Array (flat).
 * `name` says which field it was, for the error message. */
export function decodeF32(doc, name = "array") {
  obj(doc, name);
  const shape = list(doc.shape, `${name}.shape`);
  let count = 1;
  shape.forEach((n, i) => { count *= int(n, `${name}.shape[${i}]`); });
  const bytes = bytesOfBase64(str(doc.f32, `${name}.f32`), name);
  if (bytes.length !== 4 * count) {
    fail(`${name}.f32`, `holds ${bytes.length} bytes but shape [${shape.join(", ")}] needs ${4 * count} ` +
         "(a truncated or damaged file)");
  }
  if (littleEndianHost()) return new Float32Array(bytes.buffer, 0, count);
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** An array field of the layout with an exact expected shape. */
function array(doc, name, shape) {
  const data = decodeF32(doc, name);
  const got = doc.shape;
  if (got.length !== shape.length || got.some((n, i) => n !== shape[i])) {
    fail(`${name}.shape`, `must be [${shape.join(", ")}], got [${got.join(", ")}]`);
  }
  return data;
}

function finiteArray(data, name) {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) fail(name, `holds a non-finite number at index ${i}`);
  }
  return data;
}

function parseRaw(slots, z) {
  return list(slots, "raw").map((s, i) => {
    const f = `raw[${i}]`;
    obj(s, f);
    const dim = int(s.dim, `${f}.dim`);
    if (dim >= z) fail(`${f}.dim`, `must be below latent_dim ${z}, got ${dim}`);
    return {dim, kl: num(s.kl, `${f}.kl`), active: bool(s.active, `${f}.active`), label: str(s.label, `${f}.label`)};
  });
}

function parsePca(doc, z) {
  obj(doc, "pca");
  const stds = list(doc.stds, "pca.stds").map((v, i) => num(v, `pca.stds[${i}]`));
  const k = stds.length;
  const ratios = list(doc.ratios, "pca.ratios", k).map((v, i) => num(v, `pca.ratios[${i}]`));
  const components = finiteArray(array(doc.components, "pca.components", [k, z]), "pca.components");
  return {k, components, stds, ratios};
}

function parseAttrs(attrs, z) {
  return list(attrs, "attrs").map((a, i) => {
    const f = `attrs[${i}]`;
    obj(a, f);
    const values = list(a.values, `${f}.values`).map((v, j) => int(v, `${f}.values[${j}]`, Number.MIN_SAFE_INTEGER));
    const n = values.length;
    if (new Set(values).size !== n) fail(`${f}.values`, "must not repeat a value");
    const names = list(a.names, `${f}.names`, n).map((v, j) => str(v, `${f}.names[${j}]`));
    const counts = list(a.counts, `${f}.counts`, n).map((v, j) => int(v, `${f}.counts[${j}]`));
    const target = a.default_target;
    if (target !== null && !values.includes(target)) {
      fail(`${f}.default_target`, `must be null or one of the values [${values.join(", ")}], got ${describe(target)}`);
    }
    return {name: str(a.name, `${f}.name`), title: str(a.title, `${f}.title`), values, names, counts,
            defaultTarget: target, directions: finiteArray(array(a.directions, `${f}.directions`, [n, z]),
                                                           `${f}.directions`)};
  });
}

function parseSampler(doc, z) {
  if (doc === undefined) fail("sampler", "is missing (null for the N(0, I) prior)");
  if (doc === null) return null;
  obj(doc, "sampler");
  const covarianceType = doc.covariance_type;
  if (!["diag", "full", "tied", "grouped"].includes(covarianceType)) {
    fail("sampler.covariance_type", `must be "diag", "full", "tied" or "grouped", got ${describe(covarianceType)}`);
  }
  const weights = list(doc.weights, "sampler.weights").map((v, i) => num(v, `sampler.weights[${i}]`));
  const k = weights.length;
  if (k < 1) fail("sampler.weights", "must not be empty");
  if (weights.some((w) => w < 0) || !(weights.reduce((a, b) => a + b, 0) > 0)) {
    fail("sampler.weights", "must be >= 0 with a positive sum");
  }
  const means = finiteArray(array(doc.means, "sampler.means", [k, z]), "sampler.means");
  let scaleOf = null;
  let shape = covarianceType === "diag" ? [k, z] : covarianceType === "tied" ? [z, z] : [k, z, z];
  if (covarianceType === "grouped") {
    const g = int(obj(doc.scales, "sampler.scales").shape?.[0], "sampler.scales.shape[0]", 1);
    shape = [g, z, z];
    scaleOf = list(doc.scale_of, "sampler.scale_of", k).map((v, i) => {
      const f = `sampler.scale_of[${i}]`;
      if (int(v, f) >= g) fail(f, `must be below the ${g} factors in sampler.scales, got ${v}`);
      return v;
    });
  }
  const scales = finiteArray(array(doc.scales, "sampler.scales", shape), "sampler.scales");
  return {covarianceType, describe: str(doc.describe, "sampler.describe"), k, weights, means, scales, scaleOf};
}

/** The page-layout JSON (already parsed from text) → a checked Layout (see the top of this file). */
export function parseLayout(obj_) {
  obj(obj_, "the document");
  if (obj_.format !== FORMAT) fail("format", `must be ${JSON.stringify(FORMAT)}, got ${describe(obj_.format)}`);
  if (obj_.version !== VERSION) {
    fail("version", `must be ${VERSION} (this page reads version ${VERSION}), got ${describe(obj_.version)}`);
  }
  const modelId = str(obj_.model_id, "model_id");
  if (!/^[0-9a-f]{8}$/.test(modelId)) fail("model_id", `must be 8 lower-case hex digits, got ${describe(modelId)}`);
  const z = int(obj_.latent_dim, "latent_dim", 1);
  const ranges = obj(obj_.ranges, "ranges");
  const range = (key) => {
    const v = num(ranges[key], `ranges.${key}`);
    if (!(v > 0)) fail(`ranges.${key}`, `must be positive, got ${v}`);
    return v;
  };
  return {
    modelId,
    latentDim: z,
    resolution: int(obj_.resolution, "resolution", 1),
    title: str(obj_.title, "title"),
    synthetic: bool(obj_.synthetic, "synthetic"),
    ranges: {raw: range("raw"), pca: range("pca"), attr: range("attr"), step: range("step")},
    mean: finiteArray(array(obj_.mean, "mean", [z]), "mean"),
    raw: parseRaw(obj_.raw, z),
    pca: parsePca(obj_.pca, z),
    attrs: parseAttrs(obj_.attrs, z),
    sampler: parseSampler(obj_.sampler, z),
  };
}
