// Shared by the Node tests of vae_core/web/static: the fixtures tests/test_page_js.py builds with the real Python
// code (path in env CVAE_JS_FIXTURES), and number comparisons.
//
// Exports:
//   fixtures() -> object      the parsed fixtures (once), with {"$float": "nan" | "inf" | "-inf"} back as numbers;
//                             throws if CVAE_JS_FIXTURES is not set (run `pytest tests/test_page_js.py`)
//   staticModule(name) -> URL the URL of vae_core/web/static/<name>, for import()
//   assertClose(actual, expected, what, rel = 1e-5)
//                             element-wise |a − e| <= rel · max(|e|, 1): relative for values beyond 1, absolute
//                             below (float32 sums that cancel to ~0 differ in the last bits of the terms, not of
//                             the result)

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";

let cached = null;

export function fixtures() {
  if (cached) return cached;
  const path = process.env.CVAE_JS_FIXTURES;
  if (!path) {
    throw new Error("CVAE_JS_FIXTURES is not set: run `pytest tests/test_page_js.py`, which builds the fixtures " +
                    "with the Python code and runs these tests on them");
  }
  const special = {nan: NaN, inf: Infinity, "-inf": -Infinity};
  cached = JSON.parse(readFileSync(path, "utf8"), (key, value) => {
    if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 &&
        typeof value.$float === "string") {
      return special[value.$float];
    }
    return value;
  });
  return cached;
}

export function staticModule(name) {
  return new URL(`../../vae_core/web/static/${name}`, import.meta.url);
}

export function assertClose(actual, expected, what, rel = 1e-5) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: ${a}, expected NaN`);
      continue;
    }
    const ok = Math.abs(a - e) <= rel * Math.max(Math.abs(e), 1);
    assert.ok(ok, `${what}[${i}]: ${a}, expected ${e} (difference ${a - e})`);
  }
}
