"""The app's page code lives in files (ui/static), not in Python strings, and Python's pointers at it resolve.

- no multi-line JavaScript left in a string of ui/**/*.py (docstrings aside): one-line ``call_js`` calls only;
- every ``call_js(module, function, ...)`` names a module in ui/static that exports that function, and every
  ``read_ui(name)`` / ``plotly_component_js(name)`` names a file there;
- the page modules behave as the inline scripts they replaced (run in node with a stand-in page): the fidelity
  debounce clicks once at rest, the strength watcher installs once, the map redraw clicks only while shown,
  the plotly preload adds its script once, and the js_on_load bodies draw and report clicks.

(``node --check`` of every file is tests/test_page_js.py's.)
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ui.common import page_code

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"
JS_SIGNS = ("=>", "function ", "document.", "<script", "querySelector", "addEventListener")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="needs node (the page code's tests run it)")


# -- static checks of the Python side -------------------------------------------------------------------------
def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of a module, its classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def js_strings(source: str) -> list[tuple[int, str]]:
    """(line, first line) of every multi-line string (an f-string as a whole) that looks like JavaScript."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            skip.update(id(v) for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        else:
            continue
        if "\n" in text.strip() and any(sign in text for sign in JS_SIGNS):
            found.append((node.lineno, text.strip().splitlines()[0]))
    return found


def _ui_sources():
    files = sorted(UI.rglob("*.py"))
    assert len(files) > 10  # the scan sees the app
    return [(f, ast.parse(f.read_text(encoding="utf-8"))) for f in files]


def test_the_scan_flags_js_strings_and_spares_docstrings():
    source = '''
def f():
    """Calls ``() => x`` in the page: the document.body of it."""
    one = "() => 1"
    block = """() => {
  document.body.click();
}"""
    fmt = f"""function g() {{
  return {one};
}}"""
    prose = """Two lines
of text."""
'''
    assert [line for line, _ in js_strings(source)] == [5, 8]


def test_no_multi_line_javascript_in_ui_python():
    found = [f"{f.relative_to(ROOT)}:{line}: {first}" for f, _ in _ui_sources()
             for line, first in js_strings(f.read_text(encoding="utf-8"))]
    assert not found, "page JavaScript belongs in ui/static (read_ui / call_js):\n" + "\n".join(found)


def _calls(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                yield node


def _literal(node: ast.Call, i: int, where: str) -> str:
    assert len(node.args) > i and isinstance(node.args[i], ast.Constant) and isinstance(node.args[i].value, str), (
        f"{where}: name the page file and function as string literals, so this test can check them")
    return node.args[i].value


def exported_functions(path: Path) -> set[str]:
    return set(re.findall(r"^export\s+(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\(",
                          path.read_text(encoding="utf-8"), flags=re.M))


def test_exported_functions_are_read_from_module_text(tmp_path):
    mod = tmp_path / "m.js"
    mod.write_text("export function a(x) {}\nexport async function b() {}\nfunction c() {}\n// export function d()\n")
    assert exported_functions(mod) == {"a", "b"}


def test_every_call_js_target_is_an_exported_function_of_a_ui_static_module():
    seen = []
    for f, tree in _ui_sources():
        for call in _calls(tree, "call_js"):
            where = f"{f.relative_to(ROOT)}:{call.lineno}"
            module, function = _literal(call, 0, where), _literal(call, 1, where)
            path = page_code.UI_STATIC / module
            assert path.is_file(), f"{where}: ui/static/{module} does not exist"
            assert function in exported_functions(path), f"{where}: ui/static/{module} exports no {function}()"
            seen.append((module, function))
    assert {("page_events.js", "clickIfShown"), ("plotly_preload.js", "preloadPlotly")} <= set(seen)


def test_every_file_python_reads_from_ui_static_exists():
    seen = []
    for f, tree in _ui_sources():
        for name in ("read_ui", "plotly_component_js"):
            for call in _calls(tree, name):
                if f.name == "plotmap.py" and name == "read_ui" and not isinstance(call.args[0], ast.Constant):
                    continue  # plotly_component_js's own read of its argument, checked at its call sites
                target = _literal(call, 0, f"{f.relative_to(ROOT)}:{call.lineno}")
                assert (page_code.UI_STATIC / target).is_file(), f"{f.relative_to(ROOT)}: no ui/static/{target}"
                seen.append(target)
    assert {"map_plot.js", "heatmap.js", "map_plot.css", "heatmap.html"} <= set(seen)


def test_python_points_the_page_at_the_modules(tmp_path, monkeypatch):
    from ui.analysis import tab as analysis_tab
    from ui.map import plotmap

    monkeypatch.chdir(ROOT)
    preload = plotmap.preload_plotly_js(tmp_path / "cache", 1500)
    assert preload.count("\n") == 0 and "plotly_preload.js" in preload
    assert f'.preloadPlotly("{page_code.file_url(tmp_path / "cache" / "static" / "plotly.min.js")}", 1500)' in preload
    debounce = analysis_tab.debounce_click_js("gen_fidelity_go", 250)
    assert debounce.endswith('.clickAfterRest("gen_fidelity_go", 250)') and "page_events.js" in debounce
    assert analysis_tab.watch_strengths_js("gen_fidelity_go", 250).endswith('.watchStrengths("gen_fidelity_go", 250)')
    # the map and the heatmap share waitPlotly, each with its own status line
    from ui.analysis import heatmap

    for body, status in ((plotmap.JS_ON_LOAD, ".cvae-map-status"), (heatmap.JS_ON_LOAD, ".cvae-heat-status")):
        assert body.startswith(page_code.read_ui("wait_plotly.js")) and f"waitPlotly('{status}'" in body
    assert 'class="cvae-plot"' in plotmap.TEMPLATE and not plotmap.TEMPLATE.endswith("\n")


# -- the page modules, run in node -------------------------------------------------------------------------
FAKE_PAGE = r"""
globalThis.clicks = [];
globalThis.window = {};
globalThis.Element = class Element {};
const listeners = [];
const elements = {};
class Button extends Element {
  constructor(id) { super(); this.id = id; this.tagName = 'BUTTON'; }
  click() { clicks.push(this.id); }
}
globalThis.document = {
  baseURI: 'http://h/app/', scripts: [], head: {appendChild(s) { document.scripts.push(s); }},
  getElementById: (id) => elements[id] || null,
  querySelector: () => null,
  addEventListener: (type, fn, capture) => listeners.push({type, fn, capture}),
  createElement: (tag) => ({tagName: tag.toUpperCase(), src: ''}),
};
globalThis.addButton = (id) => { elements[id] = new Button(id); };
globalThis.addWrapped = (id) => { const b = new Button(id + ' button');
  elements[id] = {tagName: 'DIV', querySelector: (s) => s === 'button' ? b : null, offsetParent: null}; };
globalThis.listeners = listeners;
globalThis.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
globalThis.strengthInput = () => Object.assign(new Element(),
  {closest: (s) => s === '[id^="gen_attr_strength_"]' ? {} : null});
globalThis.otherInput = () => Object.assign(new Element(), {closest: () => null});
"""


def run_node(script: str) -> dict:
    out = subprocess.run([NODE, "--input-type=module", "-e", FAKE_PAGE + script], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def module_url(name: str) -> str:
    return (page_code.UI_STATIC / name).as_uri()


@needs_node
def test_the_fidelity_debounce_clicks_once_at_rest_and_the_watcher_installs_once():
    got = run_node(f"""
const m = await import({json.dumps(module_url("page_events.js"))});
addButton('go'); addWrapped('wrapped');
for (let i = 0; i < 5; i++) {{ m.clickAfterRest('go', 40); await sleep(10); }}
const during = clicks.length;
await sleep(80);
const atRest = clicks.length;
m.watchStrengths('go', 40); m.watchStrengths('go', 40);
const installed = listeners.map((l) => l.type + ':' + l.capture);
const rest = listeners[0].fn;
rest({{target: otherInput()}});
await sleep(60);
const afterOther = clicks.length;
rest({{target: strengthInput()}}); await sleep(10); rest({{target: strengthInput()}});
await sleep(60);
m.clickButton('wrapped'); m.clickButton('missing');
console.log(JSON.stringify({{during, atRest, installed, afterOther, clicks,
                             returned: m.clickAfterRest('none', 1)}}));
""")
    assert got["during"] == 0 and got["atRest"] == 1
    assert got["installed"] == ["input:true", "change:true"]
    assert got["afterOther"] == 1  # a slider that is not a strength slider starts no timer
    assert got["clicks"] == ["go", "go", "wrapped button"] and got["returned"] == []


@needs_node
def test_the_map_redraw_clicks_only_while_the_map_is_shown_and_scrolling_waits():
    got = run_node(f"""
const m = await import({json.dumps(module_url("page_events.js"))});
addButton('map_refresh');
const hidden = m.clickIfShown('map_plot', 'map_refresh');  // no map at all
document.getElementById = ((get) => (id) => id === 'map_plot' ? plot : get(id))(document.getElementById);
const plot = {{offsetParent: null}};
m.clickIfShown('map_plot', 'map_refresh');
const whileHidden = clicks.length;
plot.offsetParent = {{}};
m.clickIfShown('map_plot', 'map_refresh');
let scrolled = null;
document.querySelector = (s) => s === '.cvae-focus' ? {{scrollIntoView: (o) => {{ scrolled = o; }}}} : null;
m.scrollIntoViewSoon('.cvae-focus', 30);
const before = scrolled;
await sleep(60);
console.log(JSON.stringify({{hidden, whileHidden, clicks, before, scrolled}}));
""")
    assert got["hidden"] == [] and got["whileHidden"] == 0 and got["clicks"] == ["map_refresh"]
    assert got["before"] is None and got["scrolled"] == {"block": "center", "behavior": "smooth"}


@needs_node
def test_the_plotly_preload_adds_its_script_once_after_the_delay():
    got = run_node(f"""
const m = await import({json.dumps(module_url("plotly_preload.js"))});
const url = 'gradio_api/file=cache/static/plotly.min.js';
const out = m.preloadPlotly(url, 30);
const early = document.scripts.length;
await sleep(60);
const added = document.scripts.map((s) => s.src);
m.preloadPlotly(url, 1);  // a script with that src is there (the preload's, or a component's head tag)
await sleep(20);
const again = document.scripts.length;
document.scripts.length = 0;
window.Plotly = {{}};
m.preloadPlotly(url, 1);  // plotly already loaded
await sleep(20);
console.log(JSON.stringify({{out, early, added, again, loaded: document.scripts.length}}));
""")
    assert got == {"out": [], "early": 0, "added": ["http://h/app/gradio_api/file=cache/static/plotly.min.js"],
                   "again": 1, "loaded": 0}


ON_LOAD_HARNESS = r"""
// Runs a js_on_load body the way Gradio 6 does: Function(element, trigger, props, server, upload, watch).
const body = await (await import('node:fs/promises')).readFile(process.argv[1], 'utf8');
const handlers = {};
const gd = {dataset: {}, style: {}, on: (name, fn) => { handlers[name] = fn; }, addEventListener() {}};
const statusEl = {textContent: ''};
const element = {querySelector: (s) => (s === '.cvae-plot' || s === '.cvae-heat') ? gd : statusEl};
const triggered = [], watched = [], reacted = [];
globalThis.ResizeObserver = class { observe() {} };
globalThis.window = globalThis;
const props = {value: null};
Function('element', 'trigger', 'props', 'server', 'upload', 'watch', body)(
  element, (name, data) => triggered.push([name, data]), props, {}, null, (name, fn) => watched.push([name, fn]));
globalThis.Plotly = {react: (el, data, layout) => { reacted.push(data[0].type); el._fullLayout = {}; },
                     purge() {}, Plots: {resize() {}}};
"""


def run_on_load(body: str, script: str, tmp_path: Path) -> dict:
    path = tmp_path / "body.js"
    path.write_text(body, encoding="utf-8")
    out = subprocess.run([NODE, "--input-type=module", "-e", ON_LOAD_HARNESS + script, str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_node
def test_the_heatmap_body_waits_for_plotly_draws_and_reports_a_cell_click(tmp_path):
    from ui.analysis import heatmap

    got = run_on_load(heatmap.JS_ON_LOAD, """
props.value = JSON.stringify({key: 'm:k', model_id: 'm', dims: [5, 2], height: 400,
                              data: [{type: 'heatmap'}], layout: {}});
watched[0][1]();
await new Promise((r) => setTimeout(r, 80));  // waitPlotly polls every 25 ms
handlers.plotly_click({points: [{customdata: 2, x: 'glasses', pointNumber: [1, 0]}]});
console.log(JSON.stringify({watched: watched.map((w) => w[0]), reacted, key: gd.dataset.key,
                            height: gd.style.height, triggered}));
""", tmp_path)
    assert got["watched"] == ["value"] and got["reacted"] == ["heatmap"]
    assert got["key"] == "m:k" and got["height"] == "400px"
    assert got["triggered"] == [["focus_dim", {"dim": 2, "attribute": "glasses", "model_id": "m"}]]


@needs_node
def test_the_map_body_draws_each_value_and_reports_a_point_pick(tmp_path):
    from ui.map import plotmap

    got = run_on_load(plotmap.JS_ON_LOAD, """
props.value = {key: 'm:umap:none:0', method: 'umap', data: [{type: 'scatter'}], layout: {},
               atlas: {url: 'a.png', cols: 64, size: 32, n: 3}};
watched[0][1]();
await new Promise((r) => setTimeout(r, 80));
gd.getBoundingClientRect = () => ({left: 0, top: 0});
gd._fullLayout = {_size: {l: 0, t: 0}, xaxis: {l2p: (x) => x}, yaxis: {l2p: (y) => y}};
handlers.plotly_click({points: [{x: 10, y: 10, customdata: 7, data: {meta: 'dataset'}}],
                       event: {clientX: 12, clientY: 11}});
handlers.plotly_click({points: [{x: 10, y: 10, customdata: 8, data: {meta: 'dataset'}}],
                       event: {clientX: 80, clientY: 80}});  // far from the point plotly names: not a pick
console.log(JSON.stringify({reacted, key: gd.dataset.key, method: gd.dataset.method, triggered}));
""", tmp_path)
    assert got["reacted"] == ["scatter"] and got["key"] == "m:umap:none:0" and got["method"] == "umap"
    assert got["triggered"] == [["pick", {"index": 7, "method": "umap"}]]
