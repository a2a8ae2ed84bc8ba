/* Instance diagram: bpmn-js NavigatedViewer, XML and marks from the diagram.json endpoint. */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  function fail(msg) {
    var p = document.createElement("p");
    p.className = "field-error";
    p.textContent = box.getAttribute("data-error") + (msg ? ": " + msg : "");
    box.appendChild(p);
  }
  fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var viewer = new window.BpmnJS({ container: box });
      return viewer.importXML(data.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        [["done", data.done], ["current", data.current], ["failed", data.failed]].forEach(function (pair) {
          (pair[1] || []).forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, pair[0]); }
          });
        });
        box.setAttribute("data-rendered", "1");
      });
    })
    .catch(function (err) { fail(err && err.message); });
})();
