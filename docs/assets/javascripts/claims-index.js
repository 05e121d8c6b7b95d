// The claims index (claims/): filter by chapter, verdict, status and words, and sort by any
// column, in the browser and offline. The table is complete without this script; the
// controls stay hidden when it does not run. Filters are mirrored in the address
// (?chapter=digits&verdict=erratum), so a filtered view can be linked.
(function () {
  function setUp() {
    var table = document.getElementById("gs-claims-index");
    var controls = document.getElementById("gs-index-controls");
    if (!table || !controls || table.dataset.ready) return;
    table.dataset.ready = "1";
    controls.hidden = false;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var count = document.getElementById("gs-index-count");
    var filters = controls.querySelectorAll("[data-filter]");
    var params = new URLSearchParams(window.location.search);
    filters.forEach(function (control) {
      var value = params.get(control.dataset.filter);
      if (value !== null) control.value = value;
    });

    function apply() {
      var wanted = {};
      var query = new URLSearchParams();
      filters.forEach(function (control) {
        var value = control.value.trim();
        wanted[control.dataset.filter] = value.toLowerCase();
        if (value) query.set(control.dataset.filter, value);
      });
      var shown = 0;
      rows.forEach(function (row) {
        var keep =
          (!wanted.chapter || row.dataset.chapter === wanted.chapter) &&
          (!wanted.verdict || row.dataset.verdict === wanted.verdict) &&
          (!wanted.status || row.dataset.status === wanted.status) &&
          (!wanted.text || row.textContent.replace(/\u200b/g, "").toLowerCase().indexOf(wanted.text) >= 0);
        row.hidden = !keep;
        if (keep) shown += 1;
      });
      count.textContent = shown + " of " + rows.length + " claims";
      var search = query.toString();
      window.history.replaceState(null, "", search ? "?" + search : window.location.pathname);
    }

    var sortKey = "id";
    var ascending = true;
    function key(row, name) {
      if (name === "id") return row.dataset.id;
      if (name === "chapter") return row.dataset.chapterOrder + row.dataset.id;
      if (name === "specs") return Number(row.dataset.specs);
      var cell = row.querySelector('[data-label="' + name.charAt(0).toUpperCase() + name.slice(1) + '"]');
      return (cell ? cell.textContent : "").toLowerCase();
    }
    function sort(name) {
      ascending = name === sortKey ? !ascending : true;
      sortKey = name;
      rows.sort(function (a, b) {
        var x = key(a, name), y = key(b, name);
        var order = x < y ? -1 : x > y ? 1 : 0;
        if (order === 0) order = a.dataset.id < b.dataset.id ? -1 : 1;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      table.querySelectorAll("th[data-sort]").forEach(function (th) {
        th.setAttribute("aria-sort", th.dataset.sort === name ? (ascending ? "ascending" : "descending") : "none");
      });
    }

    filters.forEach(function (control) {
      control.addEventListener(control.tagName === "SELECT" ? "change" : "input", apply);
    });
    table.querySelectorAll("th[data-sort] button").forEach(function (button) {
      button.addEventListener("click", function () { sort(button.parentNode.dataset.sort); });
    });
    apply();
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(setUp);
  } else {
    document.addEventListener("DOMContentLoaded", setUp);
  }
})();
