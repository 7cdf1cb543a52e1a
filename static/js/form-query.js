// The builder's live previews: the inputs of a form as the browser would send
// them (without the CSRF token, buttons and files), as a query string, and a
// refresher that asks the server to render them a moment after typing stops.
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

  // A function that, `delay` ms after its last call, GETs `url` with `query()`
  // and hands the markup to `apply`; an answer overtaken by a later one, a lapsed
  // session (redirected to the login page) or no network leaves the page as it is.
  window.cityprocLiveRefresh = function (url, query, apply, delay) {
    var timer = null;
    var latest = 0;
    return function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var ticket = ++latest;
        var address = url + (url.indexOf("?") === -1 ? "?" : "&") + query();
        window.fetch(address, { credentials: "same-origin", headers: { Accept: "text/html" } })
          .then(function (response) {
            if (!response.ok || response.redirected) return null;
            return response.text();
          })
          .then(function (markup) {
            if (markup !== null && ticket === latest) apply(markup);
          })
          .catch(function () { /* offline: the preview stays as it was */ });
      }, delay);
    };
  };
})();
