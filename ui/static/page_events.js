// Page-only event handlers: clicks on hidden Gradio buttons the page makes itself (after a rest, or only
// while a part of the page is shown) and scrolling to a highlighted control. Called through one-line
// Gradio js= calls (ui.common.page_code.call_js) from ui/map/tab.py and ui/analysis/tab.py.

let restTimer = null;       // the pending clickAfterRest / watchStrengths click
let watchingStrengths = false;

/** Click the Gradio button elemId (its element, or the <button> inside it), if it is on the page. */
export function clickButton(elemId) {
  const el = document.getElementById(elemId);
  const button = el && (el.tagName === "BUTTON" ? el : el.querySelector("button"));
  if (button) button.click();
}

/** (Re)start a delayMs timer that clicks buttonId: a burst of calls ends in one click, and none before. */
export function clickAfterRest(buttonId, delayMs) {
  clearTimeout(restTimer);
  restTimer = setTimeout(() => clickButton(buttonId), delayMs);
  return [];
}

/**
 * Once per page: the browser's own input/change events of the attribute strength sliders (drag, keys, the
 * number box; elements whose id starts with "gen_attr_strength_") restart the clickAfterRest timer for
 * buttonId. Native listeners, not Gradio events: a Gradio .change event, even one that runs only in the
 * page, added ~25 ms to every slider round trip.
 */
export function watchStrengths(buttonId, delayMs) {
  if (watchingStrengths) return [];
  watchingStrengths = true;
  const rest = (ev) => {
    if (!(ev.target instanceof Element) || !ev.target.closest('[id^="gen_attr_strength_"]')) return;
    clickAfterRest(buttonId, delayMs);
  };
  document.addEventListener("input", rest, true);
  document.addEventListener("change", rest, true);
  return [];
}

/** Click buttonId only while the element shownId is displayed (a hidden tab's content has no offsetParent). */
export function clickIfShown(shownId, buttonId) {
  const shown = document.getElementById(shownId);
  if (shown && shown.offsetParent !== null) clickButton(buttonId);
  return [];
}

/** After delayMs (time for the page to draw it), scroll the first element matching selector into view. */
export function scrollIntoViewSoon(selector, delayMs) {
  setTimeout(() => {
    const el = document.querySelector(selector);
    if (el) el.scrollIntoView({block: "center", behavior: "smooth"});
  }, delayMs);
}
