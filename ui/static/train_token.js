// The Train tab's visitor token (ui/train/owners.py): the server issues it with the first run a visitor
// starts; this page keeps it in localStorage, so a reload keeps the right to cancel and resume that
// visitor's runs. Called through one-line Gradio js= calls (ui.common.page_code.call_js) from ui/train/tab.py.

const KEY = "cvae-train-token";

/** The token this browser keeps ("" when it never started a run, or storage is off). */
export function load() {
  try {
    return localStorage.getItem(KEY) || "";
  } catch (e) {
    return "";  // storage disabled: ownership lasts as long as the page
  }
}

/** Keep the token the server returned (a non-empty one); returns nothing for the event's outputs. */
export function keep(token) {
  try {
    if (token) localStorage.setItem(KEY, token);
  } catch (e) {
    // storage disabled: the page still holds the token until it is closed
  }
  return [];
}
