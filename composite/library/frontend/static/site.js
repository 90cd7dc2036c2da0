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
  // ---- Placeholders: fill the prompt in the page as people type ----
  // Nothing is sent: the values stay in the page (and out of the URL and the server's logs)
  // unless the person asks for a link with them. Without this script the form sends a GET.
  (function () {
    var form = document.querySelector("form.fill-form[data-template]");
    var target = form && document.getElementById(form.getAttribute("data-target"));
    if (!target) {
      return;
    }
    var parts = JSON.parse(form.getAttribute("data-template"));
    var max = parseInt(form.getAttribute("data-max"), 10);
    var fields = Array.prototype.slice.call(form.querySelectorAll("[data-index]"));
    var tooLong = form.querySelector(".fill-too-long");
    var status = form.querySelector(".fill-status");
    var linkButton = form.querySelector("button.fill-link");
    var sizes = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");

    function grow(field) {
      if (!sizes && field.tagName === "TEXTAREA") {
        field.style.height = "auto";
        field.style.height = field.scrollHeight + 2 + "px";
      }
    }

    function valueOf(part) {
      // A placeholder's value, or the placeholder as written when its field is empty.
      var value = fields[part[0]] ? fields[part[0]].value : "";
      return value || part[1];
    }

    function render() {
      var length = 0;
      parts.forEach(function (part) {
        length += typeof part === "string" ? part.length : valueOf(part).length;
      });
      // The same bound as the server's (FILLED_MAX): a value repeated by a placeholder used
      // thousands of times would otherwise build hundreds of megabytes in the page.
      var over = length > max;
      tooLong.hidden = !over;
      tooLong.textContent = over
        ? "The text was not filled in: it would be " + length.toLocaleString("en") +
          " characters, more than the " + max.toLocaleString("en") +
          " allowed. Use shorter values (a placeholder used several times repeats its value each time)."
        : "";
      target.value = parts.map(function (part) {
        return typeof part === "string" ? part : over ? part[1] : valueOf(part);
      }).join("");
      target.dispatchEvent(new Event("input", { bubbles: true })); // for scripts that show it
    }

    function shareLink() {
      var query = new URLSearchParams();
      fields.forEach(function (field) {
        if (field.value !== field.getAttribute("data-default")) {
          query.append(field.name, field.value);
        }
      });
      var text = query.toString();
      return location.origin + location.pathname + (text ? "?" + text : "");
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault(); // already filled in; a submit would send the values
    });
    form.addEventListener("input", function (event) {
      grow(event.target);
      render();
    });
    fields.forEach(grow);
    form.querySelector("button.fill-submit").hidden = true;
    linkButton.hidden = false;
    linkButton.addEventListener("click", function () {
      var url = shareLink();
      var link = document.createElement("a");
      link.href = url;
      link.textContent = url;
      status.textContent = "";
      var done = function (message) {
        status.textContent = message + " ";
        status.appendChild(link);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(
          function () {
            done("Link copied:");
          },
          function () {
            done("Your link:");
          }
        );
      } else {
        done("Your link:");
      }
    });
    render(); // the browser may have restored typed values on going back
  })();
})();
