// Shows and hides form fields whose condition depends on answers on the same
// page (data-show-if holds the condition as JSON). The server applies the same
// rules when the page is sent; without this script such fields simply stay
// visible with a note saying when to answer them.
(function () {
  "use strict";

  function valueOf(form, key) {
    var inputs = form.querySelectorAll('[name="f.' + key + '"]');
    if (!inputs.length) return undefined;
    var first = inputs[0];
    if (first.type === "radio") {
      for (var i = 0; i < inputs.length; i++) if (inputs[i].checked) return inputs[i].value;
      return "";
    }
    if (first.type === "checkbox") {
      if (inputs.length === 1 && first.value === "on") return first.checked;
      var chosen = [];
      for (var j = 0; j < inputs.length; j++) if (inputs[j].checked) chosen.push(inputs[j].value);
      return chosen;
    }
    return first.value;
  }

  function isEmpty(value) {
    if (value === undefined || value === null || value === false) return true;
    if (Array.isArray(value)) return value.length === 0;
    return String(value).trim() === "";
  }

  function number(value) {
    if (typeof value === "number") return value;
    if (typeof value !== "string" || value.trim() === "") return NaN;
    return Number(value.normalize("NFKC").replace(/,/g, ""));
  }

  function compare(op, actual, expected) {
    switch (op) {
      case "filled": return !isEmpty(actual);
      case "empty": return isEmpty(actual);
      case "equals": return actual === expected || (!isNaN(number(actual)) && number(actual) === expected);
      case "not_equals": return !(actual === expected || (!isNaN(number(actual)) && number(actual) === expected));
      case "one_of": return Array.isArray(expected) && expected.indexOf(actual) !== -1;
      case "contains": return Array.isArray(actual) && actual.indexOf(expected) !== -1;
    }
    if (isEmpty(actual)) return false;
    var left = number(actual), right = number(expected);
    if (isNaN(left) || isNaN(right)) { left = String(actual); right = String(expected); }
    switch (op) {
      case "gt": return left > right;
      case "gte": return left >= right;
      case "lt": return left < right;
      case "lte": return left <= right;
    }
    return false;
  }

  function holds(condition, form) {
    if (!condition || typeof condition !== "object") return false;
    if (Array.isArray(condition.all)) return condition.all.every(function (c) { return holds(c, form); });
    if (Array.isArray(condition.any)) return condition.any.some(function (c) { return holds(c, form); });
    if (condition.not) return !holds(condition.not, form);
    var actual = valueOf(form, condition.field);
    if (actual === undefined) return true; // asked on another page: the server decided
    return compare(condition.op, actual, condition.value);
  }

  function refresh(form) {
    var fields = form.querySelectorAll("[data-show-if]");
    for (var i = 0; i < fields.length; i++) {
      var condition;
      try { condition = JSON.parse(fields[i].getAttribute("data-show-if")); } catch (e) { continue; }
      fields[i].hidden = !holds(condition, form);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-form-engine]");
    for (var i = 0; i < forms.length; i++) {
      (function (form) {
        refresh(form);
        form.addEventListener("change", function () { refresh(form); });
        form.addEventListener("input", function () { refresh(form); });
      })(forms[i]);
    }
  });
})();
