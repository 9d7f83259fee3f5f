// Picscripter's small, optional script. Every page works without it; it only smooths the edges.
// No inline handlers and no eval: the Content-Security-Policy forbids both.
(function () {
  "use strict";

  // Preselect the browser's time zone on forms that offer it, if the user hasn't chosen one.
  function preselectTimeZone(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    root.querySelectorAll("select[data-browser-default]").forEach(function (select) {
      if (select.dataset.touched) return;
      var option = Array.prototype.find.call(select.options, function (o) { return o.value === zone; });
      if (option) select.value = zone;
    });
  }

  // Toasts: dismiss on click, and fade out on their own after a while.
  function wireToasts(root) {
    root.querySelectorAll(".toast").forEach(function (toast) {
      if (toast.dataset.wired) return;
      toast.dataset.wired = "1";
      setTimeout(function () { toast.remove(); }, 8000);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) {
      var toast = button.closest(".toast, .flash");
      if (toast) toast.remove();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-browser-default]")) {
      event.target.dataset.touched = "1";
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    preselectTimeZone(document);
    wireToasts(document);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    preselectTimeZone(event.target);
    wireToasts(document);
  });
})();
