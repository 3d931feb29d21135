// The static page's downloads: its files fetched with the bytes received so far reported, and checked against the
// export's manifest.json where that is cheap (size always, sha256 where the browser offers crypto.subtle).
//
// Why: the decoder and the runtime are ~20 MB, so the status line counts the bytes as they arrive instead of
// leaving a silent page; and a file cut short by an upload or a proxy must read as "damaged", not as a cryptic
// WebAssembly or protobuf error later. Every URL is relative to the page, so the folder works on any host and path.
//
// Exports:
//   createProgress(onChange) -> {track(name, total), add(name, n), done, total}   bytes per file, summed
//   fetchBytes(name, progress, expected = 0) -> Promise<Uint8Array>
//                                 expected: the size the manifest lists (else Content-Length, which a compressing
//                                 host sets to the compressed size); throws Error naming the file (missing, offline)
//   fetchJson(name, what) -> Promise<object>              throws Error naming the file (missing, not JSON)
//   loadManifest() -> Promise<Map<path, {size, sha256}> | null>   null when the site has no manifest
//   checkFile(name, bytes, manifest) -> Promise<void>     throws Error "name is damaged: …" on a size/sha256 mismatch

export function createProgress(onChange) {
  const files = new Map();
  const sum = (key) => [...files.values()].reduce((a, f) => a + f[key], 0);
  return {
    track(name, total) {
      files.set(name, {total: total || 0, done: 0});
      onChange();
    },
    add(name, n) {
      const f = files.get(name);
      if (!f) return;
      f.done += n;
      onChange();
    },
    get done() { return sum("done"); },
    get total() { return sum("total"); },
  };
}

function describeFailure(name, e) {
  return new Error(`${name} could not be downloaded (${e && e.message ? e.message : e}): check the connection and ` +
                   "reload the page");
}

async function request(name) {
  let response;
  try {
    response = await fetch(`./${name}`);
  } catch (e) {
    throw describeFailure(name, e);
  }
  if (response.status === 404) {
    throw new Error(`${name} is missing from this site: export it again (python -m vae_core export-web)`);
  }
  if (!response.ok) throw describeFailure(name, new Error(`HTTP ${response.status}`));
  return response;
}

export async function fetchBytes(name, progress, expected = 0) {
  const response = await request(name);
  const length = expected || Number(response.headers.get("Content-Length")) || 0;
  if (progress) progress.track(name, length);
  if (!response.body || !response.body.getReader) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (progress) progress.add(name, bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (progress) progress.add(name, value.length);
    }
  } catch (e) {
    throw describeFailure(name, e);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}

export async function fetchJson(name, what) {
  const response = await request(name);
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${name} (${what}) is damaged: it is not valid JSON (${e.message}); export the site again`);
  }
}

export async function loadManifest() {
  let response;
  try {
    response = await fetch("./manifest.json");
  } catch (e) {
    return null;
  }
  if (!response.ok) return null;
  try {
    const doc = await response.json();
    return new Map(doc.files.map((f) => [f.path, {size: f.size, sha256: f.sha256}]));
  } catch (e) {
    return null;  // the manifest only speeds up checks; the files themselves are still checked as they load
  }
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function checkFile(name, bytes, manifest) {
  const want = manifest ? manifest.get(name) : null;
  if (!want) return;
  if (bytes.length !== want.size) {
    throw new Error(`${name} is damaged: ${bytes.length} bytes arrived, the site's manifest lists ${want.size}; ` +
                    "upload or export the site again");
  }
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return;  // http:// on another host: no WebCrypto; the size check above still holds
  const digest = hex(await subtle.digest("SHA-256", bytes));
  if (digest !== want.sha256) {
    throw new Error(`${name} is damaged: its sha256 differs from the site's manifest; upload or export the site again`);
  }
}
