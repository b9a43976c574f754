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

  var labelWidth = Number(chart.dataset.labelWidth);
  var barSpace = Number(chart.dataset.barSpace);
  var chartScope = document.getElementById("chart-scope");

  function setCard(id, text) {
    document.querySelector("#" + id + " .number").textContent = text;
  }

  // The summary cards and the chart describe the VMs of the chosen subscription (all of them
  // without one): a bar that kept the whole fleet's count would mislead next to a filtered list.
  // They are recounted from the VM cards, the same rule the server used: a VM's root cause and
  // verdict. The bar geometry mirrors chart_section in html.rs.
  function rescope() {
    var subscription = filters[0].select;
    var inScope = vms.filter(function (vm) {
      return !subscription.value || vm.dataset.subscription === subscription.value;
    });
    var byVerdict = { pass: 0, fail: 0, unknown: 0 };
    var byCause = {};
    var jobs = 0;
    var predicted = 0;
    inScope.forEach(function (vm) {
      byVerdict[vm.dataset.verdict] = (byVerdict[vm.dataset.verdict] || 0) + 1;
      byCause[vm.dataset.cause] = (byCause[vm.dataset.cause] || 0) + 1;
      jobs += Number(vm.dataset.failedJobs || 0);
      predicted += Number(vm.dataset.predictedJobs || 0);
    });
    setCard("count-vms", String(inScope.length));
    setCard("count-pass", String(byVerdict.pass));
    setCard("count-fail", String(byVerdict.fail));
    setCard("count-unknown", String(byVerdict.unknown));
    setCard("count-jobs", predicted + " / " + jobs);
    var max = Math.max(1, Math.max.apply(null, bars.map(function (bar) {
      return byCause[bar.dataset.cause] || 0;
    })));
    bars.forEach(function (bar) {
      var count = byCause[bar.dataset.cause] || 0;
      var length = count === 0 ? 0 : Math.max(3, barSpace * count / max);
      bar.dataset.count = String(count);
      bar.querySelector(".bar-fill").setAttribute("width", length.toFixed(1));
      var label = bar.querySelector(".bar-count");
      label.textContent = String(count);
      label.setAttribute("x", String(labelWidth + length + 8));
      bar.querySelector("title").textContent = bar.dataset.cause + ": " + count + " VMs";
    });
    chartScope.textContent = subscription.value
      ? " · " + subscription.options[subscription.selectedIndex].text
      : "";
  }

  function apply() {
    rescope();
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
