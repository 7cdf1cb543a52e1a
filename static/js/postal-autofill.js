// Fills prefecture, city and town of an address from its postal code as soon as
// seven digits are typed, leaving alone anything the person already wrote. The
// server does the same when the form is sent, so this is only a convenience.
(function () {
  "use strict";

  function digits(value) {
    return value.normalize("NFKC").replace(/[^0-9]/g, "");
  }

  function attach(input) {
    var base = input.name.slice(0, -".postal_code".length);
    var form = input.form;
    var last = "";
    input.addEventListener("input", function () {
      var code = digits(input.value);
      if (code.length !== 7 || code === last) return;
      last = code;
      fetch("/api/v1/postal-codes/" + code + "/", { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (found) {
          if (!found) return;
          ["prefecture", "city", "town"].forEach(function (part) {
            var target = form.elements[base + "." + part];
            if (target && !target.value) target.value = found[part] || "";
          });
        })
        .catch(function () { /* offline or refused: the server fills it on submit */ });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll('input[name$=".postal_code"]');
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  });
})();
