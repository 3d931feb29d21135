// The static page's sliders, built from the checkpoint's layout (layout.js): raw latent dims (most informative
// first, collapsed ones hidden unless asked for), PCA directions, and attribute sliders (a target value + a
// strength). The same slots, labels and ranges as the app's Generate tab, so a face reads the same in both.
//
// Why the page builds them: a static folder has no server to render per-checkpoint controls, and the layout
// already says what every slot controls.
//
// Exports:
//   buildControls(layout, onInput) -> {
//     values() -> {raw: number[], pca: number[], targets: (number | null)[], strengths: number[]}
//     showLatent(z)           raw sliders show z (compose.js rawValues), PCA and strength sliders back to 0
//   }
//   onInput() is called on every `input` event of any control.

import {rawValues} from "./compose.js";

function element(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  Object.assign(el, props);
  for (const c of children) el.append(c);
  return el;
}

function rangeRow(id, label, limit, step, onInput) {
  const input = element("input", {type: "range", id, min: String(-limit), max: String(limit), step: String(step),
                                  value: "0"});
  const output = element("output", {htmlFor: id, textContent: "0.00"});
  const row = element("div", {className: "slider"}, [element("label", {htmlFor: id, textContent: label, title: label}),
                                                     input, output]);
  const show = () => { output.textContent = Number(input.value).toFixed(2); };
  input.addEventListener("input", () => {
    show();
    onInput();
  });
  return {row, input, set(v) { input.value = String(v); show(); }, get: () => Number(input.value)};
}

function rawNote(layout) {
  const collapsed = layout.raw.filter((s) => !s.active).length;
  return `Latent size ${layout.latentDim}: showing the ${layout.raw.length} most informative dims (by KL)` +
    (collapsed ? `, ${collapsed} of them collapsed (KL ≈ 0, hidden unless shown)` : "") +
    (layout.latentDim > layout.raw.length ? "; the other dims keep their current values." : ".");
}

function buildRaw(layout, onInput) {
  const box = document.getElementById("raw_sliders");
  const toggle = document.getElementById("show_collapsed");
  document.getElementById("raw_note").textContent = rawNote(layout);
  const rows = layout.raw.map((slot, i) => {
    const r = rangeRow(`raw_${i}`, slot.label, layout.ranges.raw, layout.ranges.step, onInput);
    if (!slot.active) {
      r.row.classList.add("collapsed");
      r.row.hidden = true;
    }
    box.append(r.row);
    return r;
  });
  const anyCollapsed = layout.raw.some((s) => !s.active);
  document.getElementById("show_collapsed_label").hidden = !anyCollapsed;
  toggle.addEventListener("change", () => {
    layout.raw.forEach((slot, i) => { if (!slot.active) rows[i].row.hidden = !toggle.checked; });
  });
  return rows;
}

function buildPca(layout, onInput) {
  const box = document.getElementById("pca_sliders");
  return layout.pca.ratios.map((ratio, i) => {
    const r = rangeRow(`pca_${i}`, `PC${i + 1} · ${(100 * ratio).toFixed(1)}% of the variance`, layout.ranges.pca,
                       layout.ranges.step, onInput);
    box.append(r.row);
    return r;
  });
}

function buildAttrs(layout, onInput) {
  const box = document.getElementById("attr_sliders");
  document.getElementById("attr_box").hidden = layout.attrs.length === 0;
  return layout.attrs.map((slot, i) => {
    const select = element("select", {id: `attr_${i}_target`});
    slot.values.forEach((v, j) => {
      select.append(element("option", {value: String(v), textContent: `${slot.names[j]} (${slot.counts[j]} faces)`}));
    });
    if (slot.defaultTarget !== null) select.value = String(slot.defaultTarget);
    select.addEventListener("input", onInput);
    const strength = rangeRow(`attr_${i}_strength`, `${slot.title}: strength`, layout.ranges.attr,
                              layout.ranges.step, onInput);
    const target = element("div", {className: "slider"}, [
      element("label", {htmlFor: select.id, textContent: `${slot.title}: target value`}), select]);
    box.append(element("div", {className: "attr"}, [target, strength.row]));
    return {select, strength};
  });
}

export function buildControls(layout, onInput) {
  const raw = buildRaw(layout, onInput);
  const pca = buildPca(layout, onInput);
  const attrs = buildAttrs(layout, onInput);
  return {
    values() {
      return {
        raw: raw.map((r) => r.get()),
        pca: pca.map((r) => r.get()),
        targets: attrs.map((a) => (a.select.value === "" ? null : Number(a.select.value))),
        strengths: attrs.map((a) => a.strength.get()),
      };
    },
    showLatent(z) {
      rawValues(layout, z).forEach((v, i) => raw[i].set(v));
      pca.forEach((r) => r.set(0));
      attrs.forEach((a) => a.strength.set(0));
    },
  };
}
