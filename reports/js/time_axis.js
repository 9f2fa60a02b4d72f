// The bar-number time axis of reports/html_parts.py (time_axis): a tick on the first bar of each interval
// of a round time step, labelled with that bar's time. `t` holds the bars' times as the clock of
// the display time zone reads them, in ms since 1970 (reports.html_parts.bar_times_ms): the UTC getters
// of Date print local times.
//
// Bokeh runs this file as the body of a function (CustomJSTicker, CustomJSTickFormatter) ending
// with `return ticker({...})` or `return formatter({...})`: see reports.html_parts.js_code.
// tests/test_html_js.py ties every function here to a Python reference.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MAX_TICKS = 12;

function pad2(v) {
  return String(v).padStart(2, "0");
}

// "Tue 16 Apr"
function day_text(ms) {
  const d = new Date(ms);
  return DAYS[d.getUTCDay()] + " " + pad2(d.getUTCDate()) + " " + MONTHS[d.getUTCMonth()];
}

// Tick positions (bar numbers) in the visible range [start, end]: the first bar of each interval of
// the smallest step of `steps` (ms) giving 2 to max_ticks ticks (the range's first bar only if it
// starts an interval); fewer than two round times in view: evenly spaced bars. Ticks closer than
// 0.45 x the even spacing to the previous kept one are dropped (bursty tick and volume bars).
function time_ticks(t, start, end, steps, max_ticks) {
  const n = t.length;
  const lo = Math.max(0, Math.ceil(start)), hi = Math.min(n - 1, Math.floor(end));
  if (n == 0 || hi < lo) return [];
  let best = null;
  for (const step of steps) {
    const pos = [];
    let prev = Math.floor(t[lo] / step);
    if (lo == 0 || Math.floor(t[lo - 1] / step) != prev) pos.push(lo);
    for (let i = lo + 1; i <= hi; i++) {
      const b = Math.floor(t[i] / step);
      if (b != prev) { pos.push(i); prev = b; }
      if (pos.length > max_ticks) break;
    }
    best = pos;
    if (pos.length <= max_ticks && pos.length >= 2) break;
    if (pos.length <= max_ticks && step == steps[steps.length - 1]) break;
  }
  if (best.length < 2) {
    best = [];
    const k = Math.max(1, Math.round((hi - lo) / 6));
    for (let i = lo; i <= hi; i += k) best.push(i);
  }
  const kept = [], gap = 0.45 * (hi - lo + 1) / max_ticks;
  for (const p of best) if (!kept.length || p - kept[kept.length - 1] >= gap) kept.push(p);
  return kept;
}

// The label of tick number `index` (at bar `tick`) of `ticks`: the date when the ticks are a day or
// more apart (with the year from 30 days), else HH:MM (HH:MM:SS when they are under a minute apart,
// or under 5 minutes apart and the bar's seconds are not 0), with the date below where it changes
// from the previous tick.
function tick_label(t, ticks, index, tick) {
  const i = Math.round(tick);
  if (i < 0 || i >= t.length) return "";
  const d = new Date(t[i]);
  const first = Math.round(ticks[0]), last = Math.round(ticks[ticks.length - 1]);
  const spacing = ticks.length > 1 ? (t[Math.min(last, t.length - 1)] - t[Math.max(first, 0)]) / (ticks.length - 1) : 0;
  if (spacing >= 86400000) return day_text(t[i]) + (spacing >= 30 * 86400000 ? " " + d.getUTCFullYear() : "");
  let clock = pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes());
  if (spacing > 0 && spacing < 60000 || d.getUTCSeconds() != 0 && spacing < 300000) clock += ":" + pad2(d.getUTCSeconds());
  const j = index > 0 ? Math.round(ticks[index - 1]) : -1;
  if (j < 0 || j >= t.length || day_text(t[j]) != day_text(t[i])) return clock + "\n" + day_text(t[i]);
  return clock;
}

// CustomJSTicker: args src (a source with column t) and steps; Bokeh passes cb_data (the range).
function ticker({src, steps, cb_data}) {
  return time_ticks(src.data.t, cb_data.start, cb_data.end, steps, MAX_TICKS);
}

// CustomJSTickFormatter: args src; Bokeh passes tick, index and ticks.
function formatter({src, tick, index, ticks}) {
  return tick_label(src.data.t, ticks, index, tick);
}
