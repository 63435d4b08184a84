/* mixlearn book: interactive figures that work without a kernel.
 *
 * Each <figure class="mixlearn-figure"> was written by mixlearn.teaching.static when the
 * book was built. It holds native controls (hidden until this script runs), the figure and
 * a JSON block:
 *   {kind: "frames", controls: [...], frames: [[wideURI, narrowURI, alt], ...]}
 *     every state pre-rendered; the frame index is row-major over the controls;
 *   {kind: "drawn", renderer, controls, params, alt}
 *     the figure is drawn here as SVG from a few numbers.
 * Strings may hold {name} placeholders, filled with the label of control `name`.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

  // ---- numbers -------------------------------------------------------------------------
  function normalPdf(x, mean, sd) {
    var z = (x - mean) / sd;
    return Math.exp(-0.5 * z * z) / (sd * Math.sqrt(2 * Math.PI));
  }
  function mixtureDensity(weights, means, sds, x) {
    var total = 0;
    for (var k = 0; k < weights.length; k++) { total += weights[k] * normalPdf(x, means[k], sds[k]); }
    return total;
  }
  function niceTicks(lo, hi, maxCount) {
    var span = hi - lo, raw = span / Math.max(1, maxCount);
    var mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
    [1, 2, 2.5, 5, 10].some(function (m) { step = m * mag; return span / step <= maxCount; });
    var ticks = [], start = Math.ceil(lo / step - 1e-9) * step;
    for (var t = start; t <= hi + 1e-9 * span; t += step) { ticks.push(Math.abs(t) < 1e-12 ? 0 : t); }
    return ticks.map(function (t) { return {value: t, text: String(parseFloat(t.toFixed(6))).replace("-", "\u2212")}; });
  }

  // ---- state -----------------------------------------------------------------------------
  function currentState(fig) {
    var state = {indices: [], values: {}, labels: {}};
    fig._mlData.controls.forEach(function (c) {
      var el = fig.querySelector('[data-name="' + c.name + '"]');
      var i = Math.max(0, Math.min(c.labels.length - 1, parseInt(el.value, 10) || 0));
      state.indices.push(i);
      state.values[c.name] = c.values[i];
      state.labels[c.name] = c.labels[i];
    });
    return state;
  }
  function fill(template, labels) {
    return String(template).replace(/\{(\w+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(labels, name) ? labels[name] : m;
    });
  }
  function param(p, values) {
    if (p && typeof p === "object" && "control" in p) { return Number(values[p.control]); }
    return p;
  }

  // ---- SVG helpers ---------------------------------------------------------------------
  function el(name, attrs, parent, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function axesFrame(svg, box, xlim, ylim, labels) {
    var sx = function (x) { return box.left + (x - xlim[0]) / (xlim[1] - xlim[0]) * box.width; };
    var sy = function (y) { return box.top + box.height - (y - ylim[0]) / (ylim[1] - ylim[0]) * box.height; };
    var g = el("g", {"class": "axes", "font-size": "12", fill: "currentColor"}, svg);
    el("rect", {x: box.left, y: box.top, width: box.width, height: box.height, fill: "none",
                stroke: "currentColor", "stroke-width": "1"}, g);
    niceTicks(xlim[0], xlim[1], Math.max(3, Math.floor(box.width / 60))).forEach(function (t) {
      var x = sx(t.value);
      el("line", {x1: x, x2: x, y1: box.top + box.height, y2: box.top + box.height + 5, stroke: "currentColor"}, g);
      el("text", {x: x, y: box.top + box.height + 18, "text-anchor": "middle"}, g, t.text);
    });
    niceTicks(ylim[0], ylim[1], Math.max(3, Math.floor(box.height / 45))).forEach(function (t) {
      var y = sy(t.value);
      el("line", {x1: box.left - 5, x2: box.left, y1: y, y2: y, stroke: "currentColor"}, g);
      el("text", {x: box.left - 8, y: y + 4, "text-anchor": "end"}, g, t.text);
    });
    if (labels.xlabel) {
      el("text", {x: box.left + box.width / 2, y: box.top + box.height + 36, "text-anchor": "middle",
                  "font-size": "13"}, g, labels.xlabel);
    }
    if (labels.ylabel) {
      var yl = box.top + box.height / 2;
      el("text", {x: 14, y: yl, "text-anchor": "middle", "font-size": "13",
                  transform: "rotate(-90 14 " + yl + ")"}, g, labels.ylabel);
    }
    return {sx: sx, sy: sy};
  }
  function title(svg, text, width, y) {
    var t = el("text", {x: width / 2, y: y, "text-anchor": "middle", "font-size": "14", fill: "currentColor",
                        "class": "mixlearn-title"}, svg, text);
    // too long for a narrow screen: break at the comma nearest the middle
    if (t.getComputedTextLength && t.getComputedTextLength() > width - 8 && text.indexOf(", ") > 0) {
      var cuts = [], i = -1;
      while ((i = text.indexOf(", ", i + 1)) >= 0) { cuts.push(i); }
      var cut = cuts.reduce(function (a, b) { return Math.abs(b - text.length / 2) < Math.abs(a - text.length / 2) ? b : a; });
      t.textContent = "";
      el("tspan", {x: width / 2, dy: "-0.6em"}, t, text.slice(0, cut + 1));
      el("tspan", {x: width / 2, dy: "1.2em"}, t, text.slice(cut + 2));
      return 1;
    }
    return 0;
  }

  // ---- renderers -------------------------------------------------------------------------
  var renderers = {};

  /* A two-component Gaussian mixture on a line: weighted components (shaded) and their sum.
   * params: weight1, mean1, sd1, mean2, sd2 (numbers or {control}), xlim, ylim, title,
   * xlabel, ylabel. The second weight is 1 - weight1. */
  renderers["gaussian-mixture-2"] = function (svg, p, state, width) {
    var v = state.values;
    var w1 = param(p.weight1, v), weights = [w1, 1 - w1];
    var means = [param(p.mean1, v), param(p.mean2, v)], sds = [param(p.sd1, v), param(p.sd2, v)];
    var height = Math.round(Math.max(230, Math.min(330, width * 0.45)));
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    var extra = title(svg, fill(p.title, state.labels), width, 20);
    var box = {left: 52, top: 34 + 14 * extra, width: width - 64, height: 0};
    box.height = height - box.top - 46;
    var s = axesFrame(svg, box, p.xlim, p.ylim, p);
    var n = 240, xs = [];
    for (var i = 0; i <= n; i++) { xs.push(p.xlim[0] + (p.xlim[1] - p.xlim[0]) * i / n); }
    var clipId = svg.id + "-clip";
    var defs = el("defs", {}, svg), clip = el("clipPath", {id: clipId}, defs);
    el("rect", {x: box.left, y: box.top, width: box.width, height: box.height}, clip);
    var plot = el("g", {"clip-path": "url(#" + clipId + ")"}, svg);
    var base = s.sy(0);
    [0, 1].forEach(function (k) {
      var d = "M" + s.sx(xs[0]).toFixed(1) + "," + base.toFixed(1);
      xs.forEach(function (x) {
        d += "L" + s.sx(x).toFixed(1) + "," + s.sy(weights[k] * normalPdf(x, means[k], sds[k])).toFixed(1);
      });
      d += "L" + s.sx(xs[n]).toFixed(1) + "," + base.toFixed(1) + "Z";
      el("path", {d: d, fill: COLORS[k], "fill-opacity": "0.3", stroke: "none", "class": "component"}, plot);
    });
    var line = xs.map(function (x, j) {
      return (j ? "L" : "M") + s.sx(x).toFixed(1) + "," + s.sy(mixtureDensity(weights, means, sds, x)).toFixed(1);
    }).join("");
    el("path", {d: line, fill: "none", stroke: "currentColor", "stroke-width": "2.2", "class": "mixture"}, plot);
    // legend, top right
    var lg = el("g", {"font-size": "12", fill: "currentColor"}, svg);
    var entries = [[COLORS[0], "π₁ f₁(x)"], [COLORS[1], "π₂ f₂(x)"], [null, "mixture"]];
    var lx = box.left + box.width - 100, ly = box.top + 8;
    entries.forEach(function (e, j) {
      var y = ly + j * 17;
      if (e[0]) {
        el("rect", {x: lx, y: y, width: 16, height: 10, fill: e[0], "fill-opacity": "0.45"}, lg);
      } else {
        el("line", {x1: lx, x2: lx + 16, y1: y + 5, y2: y + 5, stroke: "currentColor", "stroke-width": "2.2"}, lg);
      }
      el("text", {x: lx + 22, y: y + 10}, lg, e[1]);
    });
  };

  function drawFigure(fig) {
    var data = fig._mlData, plot = fig.querySelector(".mixlearn-plot");
    var state = currentState(fig);
    var alt = fill(data.alt, state.labels);
    var width = Math.max(280, Math.min(760, Math.floor(plot.clientWidth || 600)));
    var svg = document.createElementNS(SVG, "svg");
    svg.id = fig.id + "-svg";
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", alt);
    svg.setAttribute("class", "mixlearn-svg");
    svg.setAttribute("font-family", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif");
    plot.textContent = "";
    plot.appendChild(svg);
    renderers[data.renderer](svg, data.params, state, width);
    fig._mlWidth = plot.clientWidth;
  }

  function showFrame(fig) {
    var data = fig._mlData, state = currentState(fig);
    var idx = 0;
    data.controls.forEach(function (c, j) { idx = idx * c.labels.length + state.indices[j]; });
    var img = fig.querySelector("img.mixlearn-frame"), source = fig.querySelector("picture source");
    var frame = data.frames[idx];
    if (idx === data["default"] && !frame[0]) {
      // the default state's pictures live in the markup; remember them before they change
      frame[0] = img.getAttribute("src");
      frame[1] = source ? source.getAttribute("srcset") : null;
    }
    if (source && frame[1]) { source.setAttribute("srcset", frame[1]); }
    img.setAttribute("src", frame[0]);
    img.setAttribute("alt", frame[2]);
    fig.setAttribute("data-frame", String(idx));
  }

  function update(fig) {
    var data = fig._mlData, state = currentState(fig);
    data.controls.forEach(function (c, j) {
      var input = fig.querySelector('[data-name="' + c.name + '"]');
      if (input.type === "range") {
        input.setAttribute("aria-valuetext", c.symbol + " = " + c.labels[state.indices[j]]);
        var out = fig.querySelector('output[for="' + input.id + '"]');
        if (out) { out.textContent = c.labels[state.indices[j]]; }
      }
    });
    if (data.kind === "frames") { showFrame(fig); } else { drawFigure(fig); }
  }

  function init(fig) {
    if (fig._mlData) { return; }
    var script = fig.querySelector("script.mixlearn-data");
    if (!script) { return; }
    try { fig._mlData = JSON.parse(script.textContent); } catch (e) { return; }
    if (fig._mlData.kind === "drawn" && !renderers[fig._mlData.renderer]) { return; }
    fig.querySelectorAll("input, select").forEach(function (input) {
      input.addEventListener("input", function () { update(fig); });
      input.addEventListener("change", function () { update(fig); });
    });
    var controls = fig.querySelector(".mixlearn-controls");
    if (controls) { controls.hidden = false; }
    fig.classList.add("mixlearn-ready");
    update(fig);
  }

  function initAll() {
    document.querySelectorAll("figure.mixlearn-figure").forEach(init);
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      document.querySelectorAll('figure.mixlearn-ready[data-kind="drawn"]').forEach(function (fig) {
        var plot = fig.querySelector(".mixlearn-plot");
        if (plot && plot.clientWidth !== fig._mlWidth) { drawFigure(fig); }
      });
    }, 150);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
  window.MixlearnFigures = {normalPdf: normalPdf, mixtureDensity: mixtureDensity, niceTicks: niceTicks,
                            init: initAll, renderers: renderers};
})();
