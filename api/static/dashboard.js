// Dashboard enhancements only; every dashboard page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // The print button needs script; it stays hidden without it (Ctrl+P still works).
    var print = document.querySelectorAll("[data-print]");
    for (var i = 0; i < print.length; i++) {
      print[i].hidden = false;
      print[i].addEventListener("click", function () { window.print(); });
    }
  });
})();
