// The builder's field page: shows the settings of the chosen type only (moving
// each setting, with what was typed into it, between the type's fieldset and
// its heading under "Settings of the other types", which is then hidden), and
// keeps the preview beside the form up to date: the server renders it with the
// form engine residents' pages use (GET data-preview-url with the form's
// inputs). Without this script every setting is shown under its heading and
// "Update the preview" sends the form to render the preview.
(function () {
  "use strict";

  var DELAY = 400;

  function typesOf(element) {
    return (element.getAttribute("data-field-types") || "").split(" ");
  }

  function settingsOf(form) {
    var settings = Array.prototype.slice.call(form.querySelectorAll("[data-setting]"));
    settings.sort(function (a, b) {
      return Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
    });
    return settings;
  }

  function arrange(form) {
    var select = form.querySelector("[name=type]");
    var current = form.querySelector('[data-settings-slot="current"]');
    var others = form.querySelector("[data-other-settings]");
    if (!select || !current || !others) return;
    var kind = select.value;
    var shown = 0;
    settingsOf(form).forEach(function (setting) {
      if (typesOf(setting).indexOf(kind) !== -1) {
        current.appendChild(setting);
        shown += 1;
      } else {
        var home = others.querySelector('[data-settings-slot="' + setting.getAttribute("data-section") + '"]');
        if (home) home.appendChild(setting);
      }
    });
    var sections = others.querySelectorAll("[data-settings-slot]");
    for (var i = 0; i < sections.length; i++) {
      sections[i].hidden = !sections[i].querySelector("[data-setting]");
    }
    // A setting of another type that the server refused stays in sight.
    others.hidden = !others.querySelector(".field--error");
    var name = form.querySelector("[data-type-name]");
    if (name && select.selectedIndex >= 0) name.textContent = select.options[select.selectedIndex].text;
    var none = form.querySelector("[data-no-settings]");
    if (none) none.hidden = shown > 0;
  }

  // The inputs as the form would send them, without the hidden settings of
  // other types (they are not sent either) and without the CSRF token.
  function query(form) {
    var others = form.querySelector("[data-other-settings]");
    return window.cityprocFormQuery(form, function (input) {
      return Boolean(others && others.hidden && others.contains(input));
    });
  }

  function previewer(form) {
    var target = document.querySelector("[data-field-preview]");
    var base = form.getAttribute("data-preview-url");
    if (!target || !base) return function () {};
    return window.cityprocLiveRefresh(base, function () { return query(form); }, function (markup) {
      if (target.innerHTML.trim() !== markup.trim()) target.innerHTML = markup;
    }, DELAY);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-field-form]");
    if (!form) return;
    var refresh = previewer(form);
    var button = document.querySelector("[data-preview-button]");
    if (button) button.hidden = true;
    arrange(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "type") arrange(form);
      refresh();
    });
    form.addEventListener("input", refresh);
    form.addEventListener("submit", function () {
      // The settings of other types are not the field's: do not send them.
      var others = form.querySelector("[data-other-settings]");
      if (!others || !others.hidden) return;
      var inputs = others.querySelectorAll("input, select, textarea");
      for (var i = 0; i < inputs.length; i++) inputs[i].disabled = true;
    });
    // Coming back to the page from the history: what was disabled is usable again.
    window.addEventListener("pageshow", function () {
      var inputs = form.querySelectorAll("[data-other-settings] [disabled]");
      for (var i = 0; i < inputs.length; i++) inputs[i].disabled = false;
    });
  });
})();
