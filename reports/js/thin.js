// Thinning of the report's bars for the visible range (reports/html.py, report): every bar is in
// the page once (the source `full`); what is drawn is the visible range plus half a screen either
// side, cut into buckets of k = ceil(visible bars / plot width in pixels) bars. A bucket's candle
// has the first open, highest high, lowest low and last close; its delta bars reach the lowest and
// highest delta of its bars; each line keeps the bucket's lowest and highest value in the order
// they came (min-max decimation). Zoomed in to fewer bars than pixels, every bar is drawn as it is.
//
// Bokeh runs this file as the body of a CustomJS callback ending with `return thin({...})`:
// see reports.html_parts.js_code. tests/test_html_js.py ties every function here to a Python reference.

const LINE_COLUMNS = ["cvd", "imb", "value", "peak", "dd"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function two(v) {
  return String(v).padStart(2, "0");
}

// "2024-04-16 Tue 14:30:00" of a bar time in ms of the display clock (reports.html_parts.bar_times_ms).
function bar_time_text(ms) {
  const t = new Date(ms);
  return t.getUTCFullYear() + "-" + two(t.getUTCMonth() + 1) + "-" + two(t.getUTCDate()) + " " + WEEKDAYS[t.getUTCDay()]
    + " " + two(t.getUTCHours()) + ":" + two(t.getUTCMinutes()) + ":" + two(t.getUTCSeconds());
}

// What to draw for the visible range [start, end] of n bars on a plot `width` pixels wide: the
// bars s..e in view, the bucket size k, the bars lo..hi-1 to draw (the view and half a view either
// side, lo on a multiple of k) and the range of views [keep_lo, keep_hi) that this drawing still
// covers at the same k (one bucket inside its edges, the ends of the data included).
function thin_range(n, start, end, width) {
  const s = Math.max(0, Math.floor(start)), e = Math.min(n - 1, Math.ceil(end));
  const span = Math.max(1, e - s + 1);
  const k = Math.max(1, Math.ceil(span / width));
  const pad = Math.ceil(span / 2);
  const lo = Math.max(0, Math.floor((s - pad) / k) * k), hi = Math.min(n, e + 1 + pad);
  let keep_lo = k == 1 ? lo : lo + k, keep_hi = k == 1 ? hi : hi - k;
  if (lo == 0) keep_lo = 0;
  if (hi == n) keep_hi = n;
  return {s, e, k, lo, hi, keep_lo, keep_hi};
}

// The candles and lines of bars lo..hi-1 of the columns `d` (x t open high low close volume delta
// cvd imb value peak dd) in buckets of k bars; `up` and `down` colour rising and falling candles.
function thin_buckets(d, lo, hi, k, up, down) {
  const n = d.x.length;
  const c = {x: [], w: [], open: [], high: [], low: [], close: [], top: [], bottom: [], color: [], dpos: [], dneg: [],
             delta: [], volume: [], bars: [], time: []};
  const l = {x: []};
  for (const name of LINE_COLUMNS) l[name] = [];
  for (let b0 = lo; b0 < hi; b0 += k) {
    const b1 = Math.min(b0 + k, n);
    let h = -Infinity, lw = Infinity, dmax = -Infinity, dmin = Infinity, dsum = 0, vol = 0;
    for (let i = b0; i < b1; i++) {
      if (d.high[i] > h) h = d.high[i];
      if (d.low[i] < lw) lw = d.low[i];
      const dl = d.delta[i];
      if (dl > dmax) dmax = dl;
      if (dl < dmin) dmin = dl;
      dsum += dl; vol += d.volume[i];
    }
    const o = d.open[b0], cl = d.close[b1 - 1];
    c.x.push((b0 + b1 - 1) / 2); c.w.push(0.7 * (b1 - b0));
    c.open.push(o); c.high.push(h); c.low.push(lw); c.close.push(cl);
    c.top.push(Math.max(o, cl)); c.bottom.push(Math.min(o, cl)); c.color.push(cl >= o ? up : down);
    c.dpos.push(Math.max(dmax, 0)); c.dneg.push(Math.min(dmin, 0)); c.delta.push(dsum); c.volume.push(vol);
    c.bars.push(b1 - b0);
    c.time.push(b1 - b0 == 1 ? bar_time_text(d.t[b0]) : bar_time_text(d.t[b0]) + " to " + bar_time_text(d.t[b1 - 1]));
    if (b1 - b0 == 1) {
      l.x.push(b0);
      for (const name of LINE_COLUMNS) l[name].push(d[name][b0]);
      continue;
    }
    l.x.push(b0 + 0.25 * (b1 - b0 - 1), b0 + 0.75 * (b1 - b0 - 1));
    for (const name of LINE_COLUMNS) {  // the bucket's lowest and highest value, in the order they came
      const v = d[name];
      let imin = -1, imax = -1;
      for (let i = b0; i < b1; i++) {
        if (!(v[i] == v[i])) continue;  // NaN
        if (imin < 0 || v[i] < v[imin]) imin = i;
        if (imax < 0 || v[i] > v[imax]) imax = i;
      }
      if (imin < 0) { l[name].push(NaN, NaN); continue; }
      if (imin <= imax) l[name].push(v[imin], v[imax]); else l[name].push(v[imax], v[imin]);
    }
  }
  l.imb_pos = l.imb.map((v) => v > 0 ? v : 0);
  l.imb_neg = l.imb.map((v) => v < 0 ? v : 0);
  return {candles: c, lines: l};
}

// What the page says about the drawing.
function thin_note(r) {
  return r.k == 1
    ? "Every bar is drawn (" + (r.e - r.s + 1) + " bars in view)."
    : "Zoomed out: " + (r.e - r.s + 1) + " bars in view, thinned to the plot's width: each candle stands for " + r.k
      + " bars (first open, highest high, lowest low, last close), the delta bars reach the lowest and highest delta"
      + " of those bars, and the lines keep each bucket's lowest and highest value. Zoom in to see single bars.";
}

// The callback (on the x range's start and end, and when the page is ready): fills `candles` and
// `lines` from `full` unless the view is still inside what is drawn at the same k.
function thin({full, candles, lines, xr, fig, note, up, down}) {
  const n = full.data.x.length;
  if (n == 0) return;
  const state = full._thin_state || (full._thin_state = {});
  const width = fig.inner_width > 50 ? fig.inner_width : 1200;
  const r = thin_range(n, xr.start, xr.end, width);
  if (r.k == state.k && r.s >= state.lo && r.e < state.hi) return;  // still inside what is drawn
  state.k = r.k; state.lo = r.keep_lo; state.hi = r.keep_hi;
  const drawn = thin_buckets(full.data, r.lo, r.hi, r.k, up, down);
  candles.data = drawn.candles;
  lines.data = drawn.lines;
  if (note) note.text = thin_note(r);
}
