// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Bring the cited article into view and give it focus for screen readers.
  function focusTarget() {
    if (!location.hash) return;
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (el && el.classList.contains("chunk")) {
      el.scrollIntoView({ block: "start" });
      el.focus({ preventScroll: true });
    }
  }
  window.addEventListener("hashchange", focusTarget);
  document.addEventListener("DOMContentLoaded", function () {
    focusTarget();
    // "Back" returns to the search results the user came from, when there are any.
    var back = document.querySelector("[data-back]");
    if (back && document.referrer && document.referrer.indexOf(location.origin + "/search") === 0) {
      back.setAttribute("href", document.referrer);
    }
    // Print buttons need script (the CSP forbids inline onclick); they stay hidden without it,
    // Ctrl+P still works.
    var print = document.querySelectorAll("[data-print]");
    for (var i = 0; i < print.length; i++) {
      print[i].hidden = false;
      print[i].addEventListener("click", function () { window.print(); });
    }
    // Avoid double submission of the (slow) question form.
    var form = document.querySelector(".askform");
    if (form) {
      form.addEventListener("submit", function () {
        var btn = form.querySelector("button[type=submit]");
        if (btn) { btn.disabled = true; btn.textContent = "正在查找依据…"; }
      });
    }
  });
})();
