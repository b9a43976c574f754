// Filters: the selects and the URL hash (#subscription=<id>&cause=<layer>&verdict=<verdict>)
// say the same thing, so a filtered view can be linked to. Data is read from the DOM only.
(function () {
  "use strict";
  var filters = [
    { key: "subscription", select: document.getElementById("filter-subscription"), attribute: "subscription", label: "subscription" },
    { key: "cause", select: document.getElementById("filter-cause"), attribute: "cause", label: "root cause" },
    { key: "verdict", select: document.getElementById("filter-verdict"), attribute: "verdict", label: "verdict" }
  ];
  var vms = Array.prototype.slice.call(document.querySelectorAll("article.vm"));
  var bars = Array.prototype.slice.call(document.querySelectorAll("#chart .bar"));
  var chart = document.getElementById("chart");
  var shownCount = document.getElementById("shown-count");
  var activeFilters = document.getElementById("active-filters");
  var noMatch = document.getElementById("no-match");

  function offered(select, value) {
    return Array.prototype.some.call(select.options, function (option) {
      return option.value === value;
    });
  }

  // A value the page does not offer (a stale or mistyped link) selects everything rather than
  // nothing, so the reader is not left with an empty page and no clue why.
  function readHash() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    filters.forEach(function (filter) {
      var value = (params.get(filter.key) || "").toLowerCase();
      filter.select.value = offered(filter.select, value) ? value : "";
    });
  }

  function writeHash() {
    var params = new URLSearchParams();
    filters.forEach(function (filter) {
      if (filter.select.value) {
        params.set(filter.key, filter.select.value);
      }
    });
    var text = params.toString();
    var target = window.location.pathname + window.location.search + (text ? "#" + text : "");
    try {
      window.history.replaceState(null, "", target);
    } catch (error) {
      window.location.hash = text;
    }
  }

  function apply() {
    var shown = 0;
    vms.forEach(function (vm) {
      var visible = filters.every(function (filter) {
        return !filter.select.value || vm.dataset[filter.attribute] === filter.select.value;
      });
      vm.hidden = !visible;
      if (visible) {
        shown += 1;
      }
    });
    shownCount.textContent = String(shown);
    activeFilters.textContent = filters
      .filter(function (filter) { return filter.select.value !== ""; })
      .map(function (filter) {
        return filter.label + ": " + filter.select.options[filter.select.selectedIndex].text;
      })
      .join(", ");
    noMatch.hidden = shown !== 0;
    var cause = filters[1].select.value;
    chart.classList.toggle("filtered", cause !== "");
    bars.forEach(function (bar) {
      bar.classList.toggle("selected", bar.dataset.cause === cause);
      bar.setAttribute("aria-pressed", bar.dataset.cause === cause ? "true" : "false");
    });
  }

  filters.forEach(function (filter) {
    filter.select.addEventListener("change", function () {
      writeHash();
      apply();
    });
  });
  bars.forEach(function (bar) {
    function choose() {
      var select = filters[1].select;
      select.value = select.value === bar.dataset.cause ? "" : bar.dataset.cause;
      writeHash();
      apply();
    }
    bar.addEventListener("click", choose);
    bar.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose();
      }
    });
  });
  document.getElementById("clear-filters").addEventListener("click", function () {
    filters.forEach(function (filter) {
      filter.select.value = "";
    });
    writeHash();
    apply();
  });
  window.addEventListener("hashchange", function () {
    readHash();
    apply();
  });
  readHash();
  apply();
})();
