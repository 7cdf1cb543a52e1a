// The menu button on narrow screens: a disclosure for the main navigation.
// Loaded in <head> without defer so the "js-menu" class is on <html> before the
// first paint: the stylesheet collapses the navigation only under that class, so
// without this script (or JavaScript) the links simply stay visible and the button
// is never shown.
(function () {
  "use strict";

  document.documentElement.classList.add("js-menu");

  function setExpanded(button, header, expanded) {
    button.setAttribute("aria-expanded", expanded ? "true" : "false");
    header.classList.toggle("site-header--menu-open", expanded);
  }

  function init() {
    var button = document.querySelector(".menu-button[aria-controls]");
    if (!button) return;
    var header = button.closest(".site-header");
    var links = document.getElementById(button.getAttribute("aria-controls"));
    if (!header || !links) return;

    button.addEventListener("click", function () {
      setExpanded(button, header, button.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes an open menu from the button or any of its links, and gives
    // the focus back to the button so the keyboard user is not left on a hidden link.
    header.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
      if (event.target !== button && !links.contains(event.target)) return;
      setExpanded(button, header, false);
      button.focus();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
