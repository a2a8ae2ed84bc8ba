/* Editable table rows for array-of-object form fields, and confirm prompts. No dependencies. */
(function () {
  "use strict";
  function renumber(tbody, name) {
    Array.prototype.forEach.call(tbody.rows, function (tr, i) {
      tr.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace(/^([^\[]+)\[(\d+|__i__)\]/, "$1[" + i + "]");
        if (el.id) { el.id = el.id.replace(/-(\d+|__i__)-([^-]+)$/, "-" + i + "-$2"); }
      });
    });
  }
  document.querySelectorAll("[data-table-field]").forEach(function (box) {
    var name = box.getAttribute("data-table-field");
    var tbody = box.querySelector("tbody");
    var tpl = box.querySelector("template");
    var add = box.querySelector(".row-add");
    if (add) {
      add.addEventListener("click", function () {
        var html = tpl.innerHTML.replace(/__i__/g, String(tbody.rows.length));
        var holder = document.createElement("tbody");
        holder.innerHTML = html;
        var row = holder.querySelector("tr");
        tbody.appendChild(row);
        var first = row.querySelector("input,select,textarea");
        if (first) { first.focus(); }
      });
    }
    box.addEventListener("click", function (ev) {
      var btn = ev.target.closest(".row-remove");
      if (!btn) { return; }
      btn.closest("tr").remove();
      renumber(tbody, name);
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
})();
