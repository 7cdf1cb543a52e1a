// The inputs of a form as the browser would send them (without the CSRF token,
// buttons and files), as a query string, for the builder's previews that ask the
// server to render what is being typed. `skip(input)` leaves out inputs the page
// hides (they are disabled on submit, so they are not sent either).
(function () {
  "use strict";

  window.cityprocFormQuery = function (form, skip) {
    var params = new URLSearchParams();
    var elements = form.elements;
    for (var i = 0; i < elements.length; i++) {
      var input = elements[i];
      if (!input.name || input.disabled || input.name === "csrfmiddlewaretoken") continue;
      if (input.type === "submit" || input.type === "button" || input.type === "file") continue;
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) continue;
      if (skip && skip(input)) continue;
      if (input.tagName === "SELECT" && input.multiple) {
        for (var j = 0; j < input.options.length; j++) {
          if (input.options[j].selected) params.append(input.name, input.options[j].value);
        }
        continue;
      }
      params.append(input.name, input.value);
    }
    return params.toString();
  };
})();
