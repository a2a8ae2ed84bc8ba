// Member list progress bar: polls the list's progress while it is being checked, then reloads the page.
(function () {
  var box = document.getElementById("progress");
  if (!box) { return; }
  var bar = box.querySelector(".progress-bar");
  var text = box.querySelector(".progress-text");
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { setTimeout(poll, 5000); return; }
        bar.style.width = p.percent + "%";
        text.textContent = (p.note || p.label) + " " + p.done + "/" + (p.total || "?");
        if (p.finished) { window.location.reload(); } else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
