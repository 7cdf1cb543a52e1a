// The builder's fee page: shows only the settings the chosen kind of fee takes
// (data-fee-kinds), and keeps the example up to date as the admin types: the
// server computes it as a filing's fee is computed (GET data-example-url with
// the form's inputs). Without this script every setting is shown with the kinds
// it is for, and "Recompute the example" sends the form without saving it.
(function () {
  "use strict";

  var DELAY = 400;

  function kindOf(form) {
    var checked = form.querySelector("[name=kind]:checked");
    return checked ? checked.value : "";
  }

  function arrange(form) {
    var kind = kindOf(form);
    var settings = form.querySelectorAll("[data-fee-kinds]");
    for (var i = 0; i < settings.length; i++) {
      var kinds = settings[i].getAttribute("data-fee-kinds").split(" ");
      // A setting the server refused stays in sight whatever the kind.
      settings[i].hidden = kinds.indexOf(kind) === -1 && !settings[i].querySelector(".field--error");
    }
  }

  function hiddenSetting(form, input) {
    var setting = input.closest("[data-fee-kinds]");
    return Boolean(setting && setting.hidden);
  }

  function query(form) {
    return window.cityprocFormQuery(form, function (input) {
      return input.name === "fee_json" || hiddenSetting(form, input);
    });
  }

  function updater(form) {
    var base = form.getAttribute("data-example-url");
    var example = form.querySelector("[data-fee-example]");
    if (!base || !example) return function () {};
    return window.cityprocLiveRefresh(base, function () { return query(form); }, function (markup) {
      var fresh = new DOMParser().parseFromString(markup, "text/html");
      var result = example.querySelector("[data-fee-example-result]");
      var freshResult = fresh.querySelector("[data-fee-example-result]");
      // The live region stays; only what it says changes.
      if (result && freshResult && result.innerHTML.trim() !== freshResult.innerHTML.trim()) {
        result.innerHTML = freshResult.innerHTML;
      }
      // The example's answers are replaced only when the fields the fee
      // reads change, so that typing in them is never interrupted.
      var inputs = example.querySelector("[data-fee-example-inputs]");
      var freshInputs = fresh.querySelector("[data-fee-example-inputs]");
      if (inputs && freshInputs && inputs.getAttribute("data-keys") !== freshInputs.getAttribute("data-keys")) {
        inputs.innerHTML = freshInputs.innerHTML;
        inputs.setAttribute("data-keys", freshInputs.getAttribute("data-keys"));
      }
    }, DELAY);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-fee-form]");
    if (!form) return;
    var refresh = updater(form);
    var recompute = form.querySelector("[data-recompute]");
    if (recompute) recompute.hidden = true;
    arrange(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "kind") arrange(form);
      refresh();
    });
    form.addEventListener("input", refresh);
    form.addEventListener("submit", function () {
      // What the chosen kind does not take is not sent (nor kept).
      var inputs = form.querySelectorAll("[data-fee-kinds] input, [data-fee-kinds] select, [data-fee-kinds] textarea");
      for (var i = 0; i < inputs.length; i++) {
        if (hiddenSetting(form, inputs[i])) inputs[i].disabled = true;
      }
    });
    window.addEventListener("pageshow", function () {
      var inputs = form.querySelectorAll("[data-fee-kinds] [disabled]");
      for (var i = 0; i < inputs.length; i++) inputs[i].disabled = false;
    });
  });
})();
