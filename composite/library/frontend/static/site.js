// Progressive touches only: every page works without this file.
(function () {
  "use strict";

  function copyText(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    // Plain http (no Clipboard API): select the text and use the older command. A field in
    // a hidden pane (the formatted view is showing) cannot be selected: copy from a stand-in.
    var source = field;
    if (field.offsetParent === null) {
      source = document.createElement("textarea");
      source.value = field.value;
      source.className = "visually-hidden";
      document.body.appendChild(source);
    }
    source.focus();
    source.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (err) {
      done = false;
    }
    if (source !== field) {
      source.remove();
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

// ==== Markdown: a prompt's text formatted or as written, and a prompt box as tall as its text ====
(function () {
  "use strict";

  var boxes = document.querySelectorAll("textarea.prompt-text");

  // Where CSS field-sizing is missing, the box is sized to its text here instead.
  function fit(box) {
    if (getComputedStyle(box).getPropertyValue("field-sizing") === "content" || box.offsetParent === null) {
      return;
    }
    box.style.height = "auto";
    box.style.height = box.scrollHeight + (box.offsetHeight - box.clientHeight) + "px";
  }

  function fitAll() {
    boxes.forEach(fit);
  }

  function show(root, view) {
    root.querySelectorAll("[data-view-pane]").forEach(function (pane) {
      pane.hidden = pane.getAttribute("data-view-pane") !== view;
    });
    root.querySelectorAll("a[data-view]").forEach(function (link) {
      if (link.getAttribute("data-view") === view) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
    fitAll();
  }

  document.querySelectorAll("[data-views]").forEach(function (root) {
    root.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-view]");
      if (!link) {
        return;
      }
      event.preventDefault();
      show(root, link.getAttribute("data-view"));
      history.replaceState(history.state, "", link.href);
    });
  });

  // Typing in a placeholder field fills the raw text: show it, as it is what gets copied.
  document.querySelectorAll(".fill-form").forEach(function (form) {
    form.addEventListener("input", function () {
      var root = document.querySelector("[data-views]");
      if (root) {
        show(root, "raw");
      }
      window.requestAnimationFrame(fitAll);
    });
  });

  window.addEventListener("resize", fitAll);
  fitAll();
})();
