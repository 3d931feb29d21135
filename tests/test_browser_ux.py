"""The explorer as a person meets it, in headless Chromium: no error toasts or server tracebacks when switching
between very different checkpoints, a picker that is current on every page load, failed uploads that leave
nothing stale, attribute values by name with swatches, layouts that fit, glyphs the fonts here can draw, and
no server path anywhere on the page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

import ui_harness
from browser_fixtures import app_url, browser, open_tab, page  # noqa: F401 - pytest fixtures

pytestmark = pytest.mark.slow
if not Path(ui_harness.CHROMIUM).exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (make browser)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
TOASTS_JS = """Array.from(document.querySelectorAll('[data-testid="toast-body"], .toast-body'))
  .map(e => e.innerText).join(' | ')"""


def _folder_run(name: str, labelled: bool) -> Path:
    """A tiny run trained on an image folder inside the app's data root (labelled by a CSV, or not), with its
    map cached, written into the app's runs folder."""
    from helpers import blob_dataset

    from vae_core.config import DataSpec, ModelConfig, TrainConfig
    from vae_core.data import load_dataset
    from vae_core.explorer import Explorer
    from vae_core.training import Trainer

    folder = ui_harness.workdir() / "data" / name
    if not folder.is_dir():
        folder.mkdir(parents=True)
        blobs = blob_dataset(n=60, resolution=32, seed=1 if labelled else 2)  # two different models
        for i, im in enumerate(blobs.images):
            Image.fromarray(im).save(folder / f"{i}.png")
        if labelled:
            rows = ["file_name,colour,size"] + [f"{i}.png,{c},{s}" for i, (c, s) in enumerate(blobs.labels)]
            (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    out = ui_harness.workdir() / "runs" / name
    if not out.is_dir():
        ds = load_dataset(DataSpec(kind="folder", path=str(folder), resolution=32, val_fraction=0.2), progress=False)
        for _ in Trainer(ds, ModelConfig(resolution=32, latent_dim=4, channels=(8, 16, 16)),
                         TrainConfig(epochs=1, batch_size=8), out, device="cpu").run():
            pass
        Explorer.open(out).map("pca")
    return out


@pytest.fixture(scope="module")
def runs():
    """Checkpoints unlike the default, created after the app started: a labelled and an unlabelled folder run."""
    ui_harness.running_app()
    return [_folder_run("blobs-labelled", True), _folder_run("blobs-unlabelled", False)]


def pick_checkpoint(page, name: str) -> None:
    page.locator("#checkpoint_picker input").click()
    page.get_by_role("option", name=name).first.click()


def test_switching_checkpoints_shows_no_error_and_logs_no_traceback(page, runs, capfd):
    page.reload()  # a page loaded now lists the runs trained since the server started, without Refresh
    ui_harness.wait_for_first_face(page)
    capfd.readouterr()
    for name in ("runs/blobs-labelled", "runs/blobs-unlabelled", "checkpoints/default", "runs/blobs-labelled",
                 "checkpoints/default"):
        old = page.locator("#gen_image img").get_attribute("src")
        pick_checkpoint(page, name)
        try:
            page.wait_for_function("(old) => { const i = document.querySelector('#gen_image img');"
                                   " return i && i.src !== old; }", arg=old, timeout=30_000)
        except Exception as e:  # noqa: BLE001 - say what the page showed instead
            raise AssertionError(f"switching to {name}: no new face; toasts: {page.evaluate(TOASTS_JS)!r}; "
                                 f"banner: {page.locator('#banner').inner_text()!r}") from e
        page.wait_for_timeout(400)  # any error toast would have appeared by now
        assert page.evaluate(TOASTS_JS) == "", f"switching to {name}: {page.evaluate(TOASTS_JS)}"
    err = capfd.readouterr().err
    assert "Traceback" not in err and "not in the list of choices" not in err, err[-3000:]


def test_a_failed_upload_clears_the_previous_result(page, tmp_path):
    open_tab(page, "Reconstruct")
    good = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (230, 180, 140)).save(good)
    page.locator("#rec_upload input[type=file]").set_input_files(str(good))
    page.wait_for_function("document.querySelector('#rec_report').innerText.includes('Reconstruction of')",
                           timeout=30_000)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    page.locator("#rec_upload input[type=file]").set_input_files(str(bad))
    page.wait_for_function(f"{TOASTS_JS}.length > 0", timeout=30_000)
    page.wait_for_function("document.querySelector('#rec_report').innerText.trim() === ''", timeout=10_000)
    assert page.locator("#rec_upload img").count() == 0  # no broken-image sliver
    assert page.locator("#rec_output img").count() == 0


def test_attribute_values_have_names_and_swatches(page):
    page.wait_for_selector("#gen_swatches_0 figure img", timeout=10_000)
    captions = page.locator("#gen_swatches_0 figcaption").all_inner_texts()
    assert len(captions) >= 2 and len(set(captions)) == len(captions)
    # hair colour, the first attribute slot: named by the synthetic card, with a measured colour dot
    assert not any(c.startswith("value ") for c in captions), captions
    assert page.locator("#gen_swatches_0 .cvae-dot").count() == len(captions)
    shown = page.locator("#gen_attr_value_0 input").input_value()
    assert "faces)" in shown and not shown.startswith("value ")


def test_picked_map_point_lists_every_attribute_and_the_map_says_what_its_colours_show(page):
    from ui.map.plotmap import separation

    # plotly.js is fetched while the page idles, before the tab is opened, and the tab does not load it again
    page.wait_for_function("!!window.Plotly", timeout=30_000)
    open_tab(page, "Latent map")
    page.wait_for_selector("#map_plot .cvae-plot[data-key] .scatterlayer .point", timeout=60_000)
    assert page.evaluate("Array.from(document.scripts).filter(s => s.src.includes('plotly')).length") == 1
    status = page.locator("#map_status").inner_text()
    assert "Colours show" in status and "separates best" in status
    # the plotly toolbar does not cover the title
    title = page.locator("#map_plot .gtitle").bounding_box()
    bar = page.locator("#map_plot .modebar").bounding_box()
    assert title and (bar is None or title["x"] + title["width"] <= bar["x"] or title["y"] + title["height"] <= bar["y"])
    pt = page.locator("#map_plot .scatterlayer .trace:first-child .point").nth(3).bounding_box()
    page.mouse.click(pt["x"] + pt["width"] / 2, pt["y"] + pt["height"] / 2)
    page.wait_for_function("document.querySelector('#map_info').innerText.includes('Dataset face')", timeout=30_000)
    info = page.locator("#map_info").inner_text()
    explorer = ui_harness.running_app()[1].cvae_context.registry.get(None)
    schema = explorer.embedding().schema
    assert all(n.replace("_", " ") in info for n in schema.names), info
    assert separation  # the ranking the status line reports is tested in test_ui_plotmap


def test_interpolation_frames_are_readable_and_each_end_shows_only_its_source(page):
    open_tab(page, "Interpolate")
    assert page.locator("#int_seed_a").is_visible() and not page.locator("#int_example_a").is_visible()
    assert not page.locator("#int_upload_a").is_visible() and not page.locator("#int_latent_a").is_visible()
    page.locator("#int_source_a").get_by_text("latent string").click()
    page.wait_for_selector("#int_latent_a", state="visible", timeout=5_000)
    assert not page.locator("#int_seed_a").is_visible()
    page.locator("#int_source_a").get_by_text("random").click()
    page.wait_for_selector("#int_seed_a", state="visible", timeout=5_000)
    page.locator("#int_set_a").click()
    page.locator("#int_set_b").click()
    page.wait_for_selector("#int_preview_b img", timeout=30_000)
    page.locator("#int_go").click()
    page.wait_for_selector("#int_strip img", timeout=30_000)
    box = page.locator("#int_strip img").bounding_box()
    rows = 2  # 10 frames in rows of 6
    assert box["height"] / rows >= 96, box


def test_the_example_gallery_fits_its_column(page):
    open_tab(page, "Reconstruct")
    page.wait_for_selector("#rec_examples .grid-container button", timeout=30_000)
    gallery = page.locator("#rec_examples").bounding_box()
    tiles = page.locator("#rec_examples .grid-container button")
    for i in range(min(8, tiles.count())):
        b = tiles.nth(i).bounding_box()
        assert b["x"] + b["width"] <= gallery["x"] + gallery["width"] + 1, (i, b, gallery)


def test_no_server_path_and_every_glyph_has_a_font(page):
    html = page.content()
    for path in (str(ui_harness.workdir()), str(ROOT)):
        assert path not in html, f"{path} is on the page"
    text = page.evaluate("document.body.innerText")
    odd = sorted({c for c in text if ord(c) > 0x2000})
    missing = []
    for c in odd:
        fonts = subprocess.run(["fc-list", f":charset={ord(c):x}", "family"], capture_output=True, text=True).stdout
        if not fonts.strip():
            missing.append(f"{c} U+{ord(c):04X}")
    assert not missing, f"glyphs no installed font has (shown as empty boxes): {missing}"


def test_a_switch_redraws_the_map_only_while_it_is_shown(page):
    """A switch sets the map's colour without redrawing a hidden map; while the map is shown it is redrawn
    for the new model (its key names the weights)."""
    registry = ui_harness.running_app()[1].cvae_context.registry
    ids = {name: registry.get(name).model_id for name in ("checkpoints/default", "checkpoints/synthetic")}
    open_tab(page, "Latent map")
    key = "#map_plot .cvae-plot[data-key^='{}'] .scatterlayer .point"
    page.wait_for_selector(key.format(ids["checkpoints/default"]), timeout=60_000)
    pick_checkpoint(page, "checkpoints/synthetic")
    page.wait_for_selector(key.format(ids["checkpoints/synthetic"]), timeout=60_000)
    pick_checkpoint(page, "checkpoints/default")
    page.wait_for_selector(key.format(ids["checkpoints/default"]), timeout=60_000)
