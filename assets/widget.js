/*
 * Crystal Bay Travel — website lead form.
 *
 *   <script src="https://crm.example.kz/widget.js" data-key="YOUR_PUBLIC_KEY" async></script>
 *
 * Inserts an iframe with the form (GET /widget?key=...) where the script tag is, or into the
 * element given by data-target="#css-selector". The form is served by the CRM backend: data-host
 * overrides its address (default: the address this script was loaded from). The page address and
 * utm_* parameters of the page are passed on with the lead. See docs/api.md.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var key = script.getAttribute("data-key");
  if (!key) { console.error("Crystal Bay widget: data-key is missing"); return; }
  var host = (script.getAttribute("data-host") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var params = new URLSearchParams({ key: key, page: location.href.slice(0, 500) });
  var pageParams = new URLSearchParams(location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (name) {
    if (pageParams.get(name)) { params.set(name, pageParams.get(name).slice(0, 200)); }
  });

  var iframe = document.createElement("iframe");
  iframe.src = host + "/widget?" + params.toString();
  iframe.title = "Заявка на тур — Crystal Bay Travel";
  iframe.loading = "lazy";
  iframe.style.cssText = "width:100%;max-width:440px;height:520px;border:0;overflow:hidden;display:block";

  window.addEventListener("message", function (event) {
    if (event.origin !== host || event.source !== iframe.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "cb-widget-height" && typeof data.height === "number") {
      iframe.style.height = Math.min(Math.max(data.height, 200), 2000) + "px";
    }
  });

  var selector = script.getAttribute("data-target");
  var target = selector ? document.querySelector(selector) : null;
  if (target) {
    target.appendChild(iframe);
  } else {
    script.parentNode.insertBefore(iframe, script.nextSibling);
  }
})();
