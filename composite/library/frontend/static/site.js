// Progressive touches only: every page works without this file.
(function () {
  "use strict";

  function copyText(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    // Plain http (no Clipboard API): select the text and use the older command.
    field.focus();
    field.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (err) {
      done = false;
    }
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(field).then(
        function () {
          button.textContent = "Copied";
        },
        function () {
          field.select();
          button.textContent = "Press Ctrl+C";
        }
      ).then(function () {
        window.setTimeout(function () {
          button.textContent = label;
        }, 2000);
      });
    });
  });
})();

/* Upload progress (account import): the form posts as usual without JavaScript; with it,
   the file is sent by XMLHttpRequest so the page can show how much is uploaded, then the
   answer replaces the import section (or the whole page, for an error page). */
(function () {
  "use strict";

  function enhance(form) {
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    var status = box && box.querySelector(".upload-status");
    var file = form.querySelector("input[type=file]");
    if (!box || !bar || !status || !file || !window.FormData || !window.DOMParser) {
      return;
    }
    form.addEventListener("submit", function (event) {
      if (!file.files || !file.files.length) {
        return; // nothing chosen: let the server say so
      }
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var request = new XMLHttpRequest();
      box.hidden = false;
      bar.value = 0;
      status.textContent = "Uploading…";
      if (button) {
        button.disabled = true;
      }
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable) {
          var percent = Math.floor((progress.loaded / progress.total) * 100);
          bar.value = percent;
          status.textContent = "Uploading… " + percent + "%";
        }
      });
      request.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the server imports
        status.textContent = "Uploaded; importing your prompts…";
      });
      request.addEventListener("load", function () {
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        var section = page.getElementById("import");
        var current = document.getElementById("import");
        if (section && current) {
          current.replaceWith(document.adoptNode(section));
          section.querySelectorAll("form[data-upload-progress]").forEach(enhance);
          var report = document.getElementById("import-report") || document.getElementById("f-file");
          if (report) {
            report.setAttribute("tabindex", "-1");
            report.focus();
          }
        } else {
          document.title = page.title;
          document.body.replaceWith(document.adoptNode(page.body));
        }
      });
      request.addEventListener("error", function () {
        form.submit(); // the plain form, as without JavaScript
      });
      request.open("POST", form.action);
      request.send(new FormData(form));
    });
  }

  document.querySelectorAll("form[data-upload-progress]").forEach(enhance);
})();
