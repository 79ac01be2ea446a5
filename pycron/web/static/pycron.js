// The page's one script; every page works without it.
//
// The overview refreshes its job table every few seconds: it fetches the
// table alone (the URL in the element's data-refresh) and swaps it in, so
// the page neither reloads nor flickers. Hidden tabs do not poll.
//
// A run's log shown by its tail opens scrolled to its end.
(function () {
  "use strict";
  var PERIOD = 5000;

  function refreshing(live) {
    // The same URL as the page's own for its access token, if it came with one.
    var url = new URL(live.getAttribute("data-refresh"), window.location.href);
    var token = new URLSearchParams(window.location.search).get("token");
    if (token) {
      url.searchParams.set("token", token);
    }
    var shown = null;
    var busy = false;

    function refresh() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, { cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          live.classList.remove("stale");
          if (html !== shown) {
            shown = html;
            live.innerHTML = html;
          }
        })
        .catch(function () {
          live.classList.add("stale");
        })
        .then(function () {
          busy = false;
        });
    }

    window.setInterval(refresh, PERIOD);
    document.addEventListener("visibilitychange", refresh);
  }

  var live = document.getElementById("live");
  if (live && window.fetch) {
    refreshing(live);
  }
  document.querySelectorAll("pre.output[data-tail]").forEach(function (log) {
    log.scrollTop = log.scrollHeight;
  });
})();
