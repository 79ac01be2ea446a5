// The overview refreshes its job table every few seconds: it fetches the
// table alone (the element's data-refresh URL) and swaps it in, so the page
// neither reloads nor flickers. Without this script the page still works,
// it just does not refresh. Hidden tabs do not poll.
(function () {
  "use strict";
  var PERIOD = 5000;
  var live = document.getElementById("live");
  if (!live || !window.fetch) {
    return;
  }
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
})();
