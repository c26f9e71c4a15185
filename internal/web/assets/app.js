// Trail's audit-log page: progressive enhancement only. Without this
// script every filter is a plain GET form and every event's details open
// through a #fragment; with it, a changed select applies at once and
// details open in place, without a jump. No inline script, no eval, no
// third party: the CSP allows this file alone.
"use strict";

(function () {
  var doc = document;

  // Times are shown in the viewer's own zone: tell the server which it is
  // (a plain cookie, no secret) and, the first time, reload once to show
  // it. Without this script the page stays in UTC.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var m = /(?:^|;\s*)trail_tz=([^;]*)/.exec(doc.cookie);
    if (tz && /^[A-Za-z0-9_+\/-]{1,64}$/.test(tz) && (!m || m[1] !== tz)) {
      doc.cookie = "trail_tz=" + tz + "; path=/; max-age=31536000; samesite=lax";
      // Once per tab: with cookies refused, no reload loop.
      if (doc.querySelector("main time") && (m ? m[1] : "UTC") !== tz && !sessionStorage.getItem("trail_tz_reload")) {
        sessionStorage.setItem("trail_tz_reload", "1");
        location.reload();
      }
    }
  } catch (err) { /* no Intl: UTC */ }

  // Filters stay live: a changed select applies the form.
  var form = doc.getElementById("filters");
  if (form) {
    form.addEventListener("change", function (e) {
      if (e.target instanceof HTMLSelectElement) {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    });
  }

  function detailOf(link) {
    var id = link.getAttribute("aria-controls");
    return id ? doc.getElementById(id) : null;
  }

  function setOpen(link, open) {
    var detail = detailOf(link);
    if (!detail) return;
    detail.classList.toggle("open", open);
    detail.classList.toggle("closed", !open); // wins over :target, which replaceState cannot clear
    link.setAttribute("aria-expanded", open ? "true" : "false");
    var body = detail.closest("tbody");
    if (body) body.classList.toggle("open", open);
    if (!open && location.hash === "#" + detail.id) {
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  // A row (or its event type) toggles the event's details.
  doc.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var close = t.closest("a.close-detail");
    if (close) {
      var tb = close.closest("tbody.event");
      var l = tb && tb.querySelector("a.type-link");
      if (l) { e.preventDefault(); setOpen(l, false); l.focus(); }
      return;
    }
    var row = t.closest("tr.row");
    if (!row) return;
    var link = row.querySelector("a.type-link");
    if (!link) return;
    if (t !== link && !link.contains(t)) {
      if (t.closest("a, button, input, select, label")) return;
      var sel = window.getSelection && window.getSelection();
      if (sel && String(sel).length > 0) return; // selecting text, not opening
    }
    e.preventDefault();
    var detail = detailOf(link);
    var open = !(detail && (detail.classList.contains("open") || location.hash === "#" + detail.id));
    setOpen(link, open);
  });

  // The chart's days are one tab stop, a toolbar: the arrow keys, Home and
  // End move between days (roving tabindex), and the focused day's counts
  // show under the chart, as its tooltip shows them to the mouse. Without
  // this script every day is a tab stop of its own.
  var chart = doc.getElementById("chart");
  var bars = chart ? Array.prototype.slice.call(chart.querySelectorAll("a.bar")) : [];
  var readout = doc.getElementById("chart-focus");
  function rove(i) {
    bars.forEach(function (b, j) { b.setAttribute("tabindex", j === i ? "0" : "-1"); });
  }
  if (bars.length) {
    chart.setAttribute("role", "toolbar");
    rove(bars.length - 1);
    chart.addEventListener("keydown", function (e) {
      var i = bars.indexOf(e.target.closest("a.bar"));
      var next = {ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: bars.length - 1}[e.key];
      if (i < 0 || next === undefined) return;
      e.preventDefault();
      next = Math.max(0, Math.min(bars.length - 1, next));
      rove(next);
      bars[next].focus();
    });
    chart.addEventListener("focusin", function (e) {
      var b = e.target.closest("a.bar");
      var title = b && b.querySelector("title");
      if (title && readout) readout.textContent = title.textContent.replace(/\n/g, " \u00b7 ");
    });
    chart.addEventListener("focusout", function () {
      if (readout) readout.textContent = "";
    });
  }

  // On a narrow screen the chart scrolls sideways: show the latest days.
  doc.querySelectorAll(".chart-scroll").forEach(function (el) {
    el.scrollLeft = el.scrollWidth;
  });

  // Streaming: the add form shows the chosen kind's settings only (the
  // others are disabled, so they are neither shown nor sent). Without this
  // script every kind's settings are shown, each labelled with its kind,
  // and the server reads the chosen kind's alone.
  var kind = doc.getElementById("stream-kind");
  function showKind() {
    doc.querySelectorAll("fieldset.kind-settings").forEach(function (fs) {
      var off = fs.getAttribute("data-kind") !== kind.value;
      fs.hidden = off;
      fs.disabled = off;
    });
  }
  if (kind) {
    kind.addEventListener("change", showKind);
    showKind();
  }
  // After an action, what it did (or could not do) takes the focus, so a
  // keyboard or screen-reader user hears it and continues from there.
  var said = doc.querySelector("#add-error, #replay-error, #reveal-value, #alert");
  if (said) {
    var field = said.id === "add-error" ? doc.querySelector("#add-form [aria-invalid=true]") :
      said.id === "replay-error" ? doc.querySelector(".replay-form [aria-invalid=true]") : said;
    if (!field || field.id === "alert") { // no input to go to: the message itself
      field = said;
      said.setAttribute("tabindex", "-1");
    }
    field.focus();
    if (field.id === "reveal-value") field.select();
  }

  // A #fragment from a shared URL opens its event on load.
  if (location.hash.indexOf("#ev-") === 0) {
    var target = doc.getElementById(location.hash.slice(1));
    var body = target && target.closest("tbody.event");
    var link = body && body.querySelector("a.type-link");
    if (link) setOpen(link, true);
  }
})();
