"""``export-web``: the explorer as a folder that any static host serves (GitHub Pages, ``python -m http.server``).

Why a folder with no server: the page composes latents from the slider layout and decodes them itself with
onnxruntime-web, so once its files are downloaded nothing runs anywhere but in the visitor's browser. The
folder holds the page (``index.html`` and its ES modules and style), ``layout.json`` (the checkpoint's sliders
and random-face sampler, :mod:`.page_layout`), ``decoder.onnx`` (:mod:`.decoder_export`), ``ort/`` (the
runtime, :mod:`.ort_runtime`) and ``manifest.json``: every other file with its size and sha256, and the model
id. The manifest lets the export verify what it wrote before it replaces anything, lets a test or a person
check a copied site, and tells the page how many bytes it is about to download.

The folder is written whole or not at all: it is built in a hidden folder beside ``--out``, verified against
its manifest, then renamed into place. An existing ``--out`` is replaced only when it is a previous export
(it has our manifest) or empty, so a mistyped ``--out`` never deletes a user's files.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..atomic import fsync_dir
from ..file_hash import file_sha256
from ..errors import VaeCoreError

FORMAT = "cvae-static-site"
VERSION = 1
MANIFEST = "manifest.json"
LAYOUT = "layout.json"
DECODER = "decoder.onnx"
RUNTIME_DIR = "ort"
STATIC_DIR = Path(__file__).resolve().with_name("static")
#: The page's own files in ``static/`` and their names in the site (the shared ``*.js`` modules keep theirs).
PAGE_FILES = {"static_page.html": "index.html", "static_page.css": "static_page.css"}
DEFAULT_TITLE = "Cartoon VAE latent-space explorer"
_TITLE_SLOT = "{{title}}"


class SiteExportError(VaeCoreError):
    """The static site cannot be written (destination not ours, page files missing) or does not verify."""


@dataclass(frozen=True)
class SiteFile:
    path: str  # relative, with "/" separators
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    model_id: str
    fingerprint: str
    title: str
    checkpoint: str
    files: tuple[SiteFile, ...]

    @property
    def total_bytes(self) -> int:
        """The size of every listed file (the manifest itself is not listed: it cannot hold its own hash)."""
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "model_id": self.model_id, "fingerprint": self.fingerprint,
                "title": self.title, "checkpoint": self.checkpoint, "total_bytes": self.total_bytes,
                "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files]}

    @classmethod
    def from_dict(cls, doc: object) -> "Manifest":
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SiteExportError(f"not a static-site manifest (its format is not {FORMAT!r})")
        if doc.get("version") != VERSION:
            raise SiteExportError(f"static-site manifest version {doc.get('version')!r}; this version reads {VERSION}")
        try:
            files = tuple(SiteFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in doc["files"])
            return cls(str(doc["model_id"]), str(doc["fingerprint"]), str(doc["title"]), str(doc["checkpoint"]),
                       files)
        except (KeyError, TypeError, ValueError) as e:
            raise SiteExportError(f"the static-site manifest is malformed ({type(e).__name__}: {e})") from None


# -- manifest ---------------------------------------------------------------------------------------------
def site_files(folder: Path) -> list[str]:
    """Every file under ``folder`` but the manifest, relative with "/" separators, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST)


def build_manifest(folder: Path, *, model_id: str, fingerprint: str, title: str, checkpoint: str) -> Manifest:
    files = tuple(SiteFile(rel, (folder / rel).stat().st_size, file_sha256(folder / rel)) for rel in site_files(folder))
    return Manifest(model_id, fingerprint, title, checkpoint, files)


def read_manifest(folder: str | Path) -> Manifest:
    file = Path(folder) / MANIFEST
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteExportError(f"{folder} has no {MANIFEST}: it is not an export-web folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SiteExportError(f"{file} cannot be read ({type(e).__name__}: {e})") from None
    return Manifest.from_dict(doc)


def verify_site(folder: str | Path) -> Manifest:
    """The site's manifest, after checking that its files are exactly those listed, with their sizes and hashes."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    problems = []
    listed = {f.path for f in manifest.files}
    for f in manifest.files:
        p = folder / f.path
        if not p.is_file():
            problems.append(f"{f.path} is missing")
        elif p.stat().st_size != f.size:
            problems.append(f"{f.path} has {p.stat().st_size} bytes, the manifest says {f.size}")
        elif file_sha256(p) != f.sha256:
            problems.append(f"{f.path} does not match its sha256 in the manifest")
    problems += [f"{rel} is not in the manifest" for rel in site_files(folder) if rel not in listed]
    if problems:
        raise SiteExportError(f"the site at {folder} does not match its manifest: {'; '.join(problems)}")
    return manifest


# -- destination ------------------------------------------------------------------------------------------
def check_destination(out: Path) -> None:
    """Refuse an ``out`` that exists and is neither empty nor a previous export (before any work is done)."""
    if not out.exists() and not out.is_symlink():
        return
    if out.is_symlink() or not out.is_dir():
        raise SiteExportError(f"--out {out} exists and is not a folder; choose a new folder name")
    if not any(out.iterdir()):
        return
    try:
        read_manifest(out)
    except SiteExportError:
        raise SiteExportError(f"--out {out} is a folder with files that is not a previous export-web site (no "
                              f"valid {MANIFEST}); it is left as it is: choose a new or empty folder") from None


def _replace_folder(built: Path, out: Path) -> None:
    """Rename ``built`` to ``out``; a previous ``out`` is moved aside first and removed only once the new one is in
    place (restored if the rename fails)."""
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old.tmp")
        os.replace(out, old)
        try:
            os.replace(built, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(built, out)
    fsync_dir(out.parent)


# -- writing ----------------------------------------------------------------------------------------------
def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def page_sources() -> dict[str, Path]:
    """{name in the site: source file} of the page: its HTML and CSS, and every ES module in ``static/``."""
    missing = [name for name in PAGE_FILES if not (STATIC_DIR / name).is_file()]
    if missing:
        raise SiteExportError(f"the page files {', '.join(missing)} are missing from {STATIC_DIR}; reinstall the "
                              "package")
    sources = {site: STATIC_DIR / name for name, site in PAGE_FILES.items()}
    sources.update({p.name: p for p in sorted(STATIC_DIR.glob("*.js"))})
    return sources


def render_index(template: str, title: str) -> str:
    return template.replace(_TITLE_SLOT, html.escape(title))


def _write_site(tmp: Path, explorer, title: str, runtime: Path, decoder: Path) -> Manifest:
    from ..slider_layout import build_layout
    from .ort_runtime import RUNTIME_FILES
    from .page_layout import dumps, page_layout

    for site_name, src in page_sources().items():
        data = src.read_bytes()
        if site_name == "index.html":
            data = render_index(data.decode("utf-8"), title).encode("utf-8")
        _write(tmp / site_name, data)
    doc = page_layout(build_layout(explorer), explorer.sampler, resolution=explorer.resolution, title=title,
                      synthetic=explorer.is_synthetic)
    _write(tmp / LAYOUT, dumps(doc).encode("utf-8"))
    _write(tmp / DECODER, decoder.read_bytes())
    for name in RUNTIME_FILES:
        _write(tmp / RUNTIME_DIR / name, (runtime / name).read_bytes())
    manifest = build_manifest(tmp, model_id=explorer.model_id, fingerprint=explorer.checkpoint.fingerprint,
                              title=title, checkpoint=explorer.path.name)
    _write(tmp / MANIFEST, (json.dumps(manifest.to_dict(), indent=1) + "\n").encode("utf-8"))
    return manifest


def export_web(checkpoint: str | Path, out: str | Path, *, title: str | None = None, download: bool = True,
               runtime_root: str | Path | None = None) -> Manifest:
    """Write the static explorer of ``checkpoint`` to ``out`` (see the module doc); returns its manifest.

    ``download=False`` uses only a runtime already fetched (no network). Raises :class:`VaeCoreError` subclasses
    with a one-line reason (destination refused, checkpoint or runtime missing); ``out`` is then untouched.
    """
    from ..explorer import Explorer
    from .decoder_export import ensure_decoder
    from .ort_runtime import ensure_runtime

    out = Path(out).expanduser()
    check_destination(out)
    page_sources()  # a broken install fails before the slow steps
    explorer = Explorer.open(checkpoint)
    runtime = ensure_runtime(runtime_root, download=download)
    decoder = ensure_decoder(explorer.path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        _write_site(tmp, explorer, title or DEFAULT_TITLE, runtime, decoder)
        manifest = verify_site(tmp)
        check_destination(out)  # again: another process may have filled it meanwhile
        _replace_folder(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SiteExportError(f"cannot write the site to {out}: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
