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
    dragging = true;
  });
  document.addEventListener("dragend", function () {
    dragging = false;
  });
  // Pages that refresh themselves (a post about to go out) skip a refresh while something is
  // being dragged or a drawer or menu is open, so nothing moves under the pointer.
  var dragging = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.getAttribute || source.getAttribute("hx-trigger") === null) return;
    if (!/^every /.test(source.getAttribute("hx-trigger"))) return;
    var drawer = document.getElementById("drawer");
    var busy = dragging || (drawer && drawer.children.length > 0) || source.querySelector("details[open]") || source.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
    if (busy) event.preventDefault();
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
  // Media uploads: drag and drop, several files at once, each sent on its own with a progress
  // bar. Without this script the form posts all files together and the page lists the results.
  function wireUploads(root) {
    root.querySelectorAll("form[data-upload]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      var input = form.querySelector("input[type=file]");
      var list = form.querySelector("[data-upload-list]");
      var hint = form.querySelector("[data-drop-hint]");
      var button = form.querySelector("[data-upload-button]");
      if (hint) hint.hidden = false;
      // Choosing files starts their upload, so the button is only needed without this script.
      if (button) button.classList.add("hidden");

      form.addEventListener("submit", function (event) {
        event.preventDefault();
        send(form, list, input.files);
        input.value = "";
      });
      input.addEventListener("change", function () {
        send(form, list, input.files);
        input.value = "";
      });
      ["dragenter", "dragover"].forEach(function (name) {
        form.addEventListener(name, function (event) {
          event.preventDefault();
          form.classList.add("upload-zone-active");
        });
      });
      ["dragleave", "drop"].forEach(function (name) {
        form.addEventListener(name, function (event) {
          event.preventDefault();
          if (name === "dragleave" && form.contains(event.relatedTarget)) return;
          form.classList.remove("upload-zone-active");
        });
      });
      form.addEventListener("drop", function (event) {
        if (event.dataTransfer) send(form, list, event.dataTransfer.files);
      });
    });
  }

  function send(form, list, fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    if (!files.length) return;
    var pending = files.length;
    var added = false;
    files.forEach(function (file) {
      var row = uploadRow(list, file.name);
      uploadOne(form, file, row, function (ok) {
        added = added || ok;
        pending -= 1;
        if (pending === 0 && added) refreshLibrary();
      });
    });
  }

  function uploadRow(list, name) {
    var item = document.createElement("li");
    item.className = "upload-item";
    var label = document.createElement("span");
    label.className = "upload-name";
    label.textContent = name;
    var bar = document.createElement("progress");
    bar.className = "upload-progress";
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + name);
    var status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "Waiting…";
    item.appendChild(label);
    item.appendChild(bar);
    item.appendChild(status);
    list.appendChild(item);
    return { item: item, bar: bar, status: status };
  }

  function finish(row, tone, message) {
    row.item.classList.add("upload-" + tone);
    row.bar.value = 100;
    row.status.textContent = message;
  }

  function uploadOne(form, file, row, done) {
    var token = document.querySelector('meta[name="csrf-token"]');
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("X-CSRF-Token", token.getAttribute("content"));
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      row.bar.value = percent;
      row.status.textContent = percent < 100 ? percent + "%" : "Checking…";
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 200 && body && body.files && body.files.length) {
        var result = body.files[0];
        var tone = result.status === "stored" ? "ok" : result.status === "duplicate" ? "duplicate" : "error";
        finish(row, tone, result.message);
        done(result.status !== "refused");
      } else {
        var message = body && body.error && body.error.message
          ? body.error.message
          : "The upload didn't work. Please try again.";
        finish(row, "error", message);
        done(false);
      }
    });
    xhr.addEventListener("error", function () {
      finish(row, "error", "The upload stopped: check your connection and try again.");
      done(false);
    });
    var data = new FormData();
    data.append("file", file, file.name);
    xhr.send(data);
  }

  // Show the new items: swap in the library part of a fresh copy of the page.
  function refreshLibrary() {
    var target = document.getElementById("media-library");
    if (!target) return;
    if (window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: "#media-library",
        select: "#media-library",
        swap: "outerHTML"
      });
    } else {
      window.location.reload();
    }
  }

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

  // Parts of pages that only make sense with this script (uploading in place) start hidden.
  function revealScripted(root) {
    root.querySelectorAll("[data-js-only][hidden]").forEach(function (el) { el.hidden = false; });
  }
  // Upload progress for htmx uploads (the composer's upload in place).
  document.addEventListener("htmx:xhr:progress", function (event) {
    var section = event.target.closest && event.target.closest("#media-section");
    var bar = section && section.querySelector(".compose-progress");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });

  document.addEventListener("DOMContentLoaded", function () {
    revealScripted(document);
    preselectTimeZone(document);
    wireToasts(document);
    wireUploads(document);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    revealScripted(document);
    preselectTimeZone(event.target);
    wireToasts(document);
  });
})();
