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

  // "/" jumps to the search box (the header's, or the search page's own), as on many sites;
  // not while the visitor is typing somewhere, where "/" is just a character.
  var search = document.querySelector("#f-q, .site-search input[name=q]");
  if (search) {
    search.setAttribute("aria-keyshortcuts", "/");
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) {
        return;
      }
      var target = event.target;
      if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) {
        return;
      }
      event.preventDefault();
      search.focus();
      search.select();
    });
  }
})();
