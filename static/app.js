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

  // The composer drawer: close with its button or Escape.
  function closeDrawer() {
    var drawer = document.getElementById("drawer");
    if (drawer) drawer.innerHTML = "";
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeDrawer();
  });

  // Calendar drag and drop: drop a post on a day (or an hour of the week view) to move it.
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".cal-post[draggable='true']");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.postId);
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (event) {
    var cell = event.target.closest && event.target.closest("[data-drop-date]");
    if (!cell) return;
    event.preventDefault();
    cell.classList.add("cal-drop");
  });
  document.addEventListener("dragleave", function (event) {
    var cell = event.target.closest && event.target.closest("[data-drop-date]");
    if (cell) cell.classList.remove("cal-drop");
  });
  document.addEventListener("drop", function (event) {
    var cell = event.target.closest && event.target.closest("[data-drop-date]");
    if (!cell || !window.htmx) return;
    event.preventDefault();
    cell.classList.remove("cal-drop");
    var id = event.dataTransfer.getData("text/plain");
    var calendar = document.getElementById("calendar");
    if (!id || !calendar) return;
    window.htmx.ajax("POST", "/posts/" + encodeURIComponent(id) + "/reschedule", {
      source: cell,
      target: "#calendar",
      swap: "outerHTML",
      values: {
        date: cell.dataset.dropDate,
        time: cell.dataset.dropTime || "",
        view: calendar.dataset.view,
        anchor: calendar.dataset.anchor
      }
    });
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-drawer]")) {
      closeDrawer();
      return;
    }
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
