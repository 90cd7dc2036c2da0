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
    var marks = markLayer(target);

    // Where CSS field-sizing is missing, a field is sized to its value here: a textarea's
    // height, a line's width in characters (the stylesheet caps it at the form's width).
    function grow(field) {
      if (sizes) {
        return;
      }
      if (field.tagName === "TEXTAREA") {
        field.style.height = "auto";
        field.style.height = field.scrollHeight + 2 + "px";
      } else {
        field.size = Math.max(20, field.value.length + 2);
      }
    }

    // The filled values are marked on a layer behind the box, in the box's own font,
    // padding and wrapping: the box keeps its text plain, and Copy copies just that.
    function markLayer(box) {
      var frame = document.createElement("div");
      var layer = document.createElement("div");
      frame.className = "prompt-frame";
      layer.className = "prompt-marks";
      layer.setAttribute("aria-hidden", "true"); // the box itself is what is read out
      box.parentNode.insertBefore(frame, box);
      frame.appendChild(layer);
      frame.appendChild(box);
      return layer;
    }

    function showMarks(pieces) {
      // Text nodes and <mark> elements only: a value is what someone typed, never markup.
      var nodes = document.createDocumentFragment();
      var plain = "";
      pieces.forEach(function (piece) {
        if (!piece.filled) {
          plain += piece.text;
          return;
        }
        if (plain) {
          nodes.appendChild(document.createTextNode(plain));
          plain = "";
        }
        var mark = document.createElement("mark");
        mark.textContent = piece.text;
        nodes.appendChild(mark);
      });
      nodes.appendChild(document.createTextNode(plain + "\n")); // the box's last empty line too
      marks.textContent = "";
      marks.appendChild(nodes);
    }

    function valueOf(part) {
      return fields[part[0]] ? fields[part[0]].value : "";
    }

    function render() {
      var length = 0;
      parts.forEach(function (part) {
        // A placeholder with an empty field is shown as written.
        length += typeof part === "string" ? part.length : (valueOf(part) || part[1]).length;
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
      var pieces = parts.map(function (part) {
        if (typeof part === "string") {
          return { text: part, filled: false };
        }
        var value = over ? "" : valueOf(part);
        return { text: value || part[1], filled: value !== "" };
      });
      target.value = pieces.map(function (piece) {
        return piece.text;
      }).join("");
      showMarks(pieces);
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

/* Upload progress (account import): the form posts as usual without JavaScript; with it,
   the file is sent by XMLHttpRequest so the page can show how much is uploaded, then how
   many prompts are stored (the server's progress for a key chosen here, asked for every
   second), then the answer replaces the import section (or the whole page, for an error
   page). */
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
      var most = Number(form.getAttribute("data-max-bytes"));
      if (most && file.files[0].size > most) {
        // Said before sending, not after minutes of upload answered by a bare 413.
        refuse(file, "This file is " + mebibytes(file.files[0].size) + "; an import takes at most " +
          mebibytes(most) + ". Split it, or leave out what you do not need.");
        return;
      }
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
      var key = progressKey();
      var polling = null;
      request.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate until the server says how far it is
        status.textContent = "Uploaded; reading the file…";
        var url = form.getAttribute("data-progress-url");
        if (url && key) {
          polling = window.setInterval(function () {
            poll(url.replace("KEY", key), bar, status);
          }, 1000);
        }
      });
      request.addEventListener("loadend", function () {
        if (polling !== null) {
          window.clearInterval(polling);
        }
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
      var data = new FormData(form);
      if (key) {
        data.append("progress", key);
      }
      request.send(data);
    });
  }

  function progressKey() {
    if (window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      }).join("");
    }
    return null; // no progress then, only the upload's
  }

  function poll(url, bar, status) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        return answer.ok ? answer.json() : null;
      })
      .then(function (progress) {
        if (!progress) {
          return;
        }
        if (progress.stage === "reading") {
          status.textContent = "Uploaded; reading the file… " + progress.done.toLocaleString() + " prompts so far";
        } else if (progress.total) {
          bar.max = progress.total;
          bar.value = progress.done;
          status.textContent = "Importing… " + progress.done.toLocaleString() + " of " +
            progress.total.toLocaleString() + " prompts done";
        }
      })
      .catch(function () {
        // A missed poll is not worth a word: the next one, or the answer, follows.
      });
  }

  function mebibytes(bytes) {
    return (bytes / 1048576).toFixed(1).replace(/\.0$/, "") + " MiB";
  }

  function refuse(input, message) {
    var field = input.closest(".field");
    var box = document.getElementById(input.id + "-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "field-error";
      box.id = input.id + "-error";
      field.appendChild(box);
    }
    box.textContent = message;
    field.classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", box.id);
    input.focus();
  }

  document.querySelectorAll("form[data-upload-progress]").forEach(enhance);
})();
