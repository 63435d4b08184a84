/* mixlearn book: accessibility repairs of the theme's own markup (runs once the DOM is ready).
 *
 * 1. Buttons whose aria-label differs from their visible text fail WCAG 2.5.3 (label in
 *    name): the search fields show "Search Ctrl+K" under the name "Search", and the colour
 *    mode button's icons carry titles ("Light", "Dark", ...) that are not in "Color mode".
 *    The search field is named by its text; the icons are decoration (the button's name,
 *    tooltip and the mode itself say what it does).
 * 2. Display equations wider than the column scroll sideways. A scrollable region must be
 *    reachable by keyboard, so those get tabindex=0 and a name, and the class
 *    `mixlearn-scrolls`, which draws the scroll cue (see mixlearn-book.css).
 * 3. The sidebar's expand/collapse toggle of a chapter with sections is a <summary> holding
 *    only an icon, so it has no name (axe: summary-name). It is named after its chapter.
 */
(function () {
  "use strict";
  function fixButtons() {
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (b) {
      b.removeAttribute("aria-label");
      b.querySelectorAll(".search-button__kbd-shortcut").forEach(function (k) { k.setAttribute("aria-hidden", "true"); });
    });
    document.querySelectorAll(".theme-switch-button i[title]").forEach(function (i) {
      i.removeAttribute("title");
      i.setAttribute("aria-hidden", "true");
    });
  }
  function nameSectionToggles() {
    document.querySelectorAll("nav details > summary").forEach(function (summary) {
      if (summary.textContent.trim() || summary.getAttribute("aria-label")) { return; }
      var item = summary.closest("li");
      var link = item && item.querySelector(":scope > a");
      summary.setAttribute("aria-label", "Sections of " + (link ? link.textContent.trim() : "this chapter"));
    });
  }
  function markWideEquations() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (m) {
      var wide = m.scrollWidth > m.clientWidth + 1;
      m.classList.toggle("mixlearn-scrolls", wide);
      if (wide) {
        m.setAttribute("tabindex", "0");
        m.setAttribute("role", "region");
        m.setAttribute("aria-label", "equation (scrolls sideways)");
      } else if (m.getAttribute("tabindex") === "0" && m.getAttribute("role") === "region") {
        m.removeAttribute("tabindex");
        m.removeAttribute("role");
        m.removeAttribute("aria-label");
      }
    });
  }
  function whenMathIsTypeset() {
    // MathJax loads asynchronously: wait for it, then for its first typesetting pass
    var tries = 0;
    (function poll() {
      var mj = window.MathJax;
      if (mj && mj.startup && mj.startup.promise) {
        mj.startup.promise.then(markWideEquations);
      } else if (tries++ < 100) {
        setTimeout(poll, 200);
      }
    })();
  }
  function start() {
    fixButtons();
    nameSectionToggles();
    whenMathIsTypeset();
  }
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(markWideEquations, 200); });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  window.MixlearnA11y = {markWideEquations: markWideEquations};
})();
