// The footprint explorer's view (reports/html_footprint.py): the price axis fits the bars in view;
// each cell shows its numbers (sell x buy) when it is big enough to hold them, the heat map
// otherwise; the strip below prints each bar's delta and volume when a bar is wide enough for them.
//
// Bokeh runs this file as the body of a CustomJS callback ending with `return view({...})` or
// `return show_in_report({...})`: see reports.html_parts.js_code. tests/test_html_js.py ties the functions here to Python references.

// The price range [start, end] that fits the bars whose x lies in [x_start - 0.5, x_end + 0.5]
// (their lowest low and highest high, half a row and a pad of max(row, 4% of the range) either
// side); null when no bar is in view.
function fitted_prices(x, low, high, x_start, x_end, row) {
  let lo = Infinity, hi = -Infinity, seen = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < x_start - 0.5 || x[i] > x_end + 0.5) continue;
    seen += 1;
    if (low[i] < lo) lo = low[i];
    if (high[i] > hi) hi = high[i];
  }
  if (seen == 0) return null;
  const pad = Math.max(row, 0.04 * (hi - lo));
  return [lo - row / 2 - pad, hi + row / 2 + pad];
}

// Which layers show on a plot of w x h pixels over the ranges [x_start, x_end] (bars) and
// [y_start, y_end] (prices, rows of `row`): the cell numbers from min_px = [width, height] pixels
// per cell, the strip's numbers from 0.6 x that width (its bars otherwise), and how many bars
// fit the plot at that width (what the note asks to zoom in to).
function footprint_layers(w, h, x_start, x_end, y_start, y_end, row, min_px) {
  const px_bar = w / Math.max(1e-9, x_end - x_start), px_row = h / Math.max(1e-9, (y_end - y_start) / row);
  return {numbers: px_bar >= min_px[0] && px_row >= min_px[1], strip_numbers: px_bar >= min_px[0] * 0.6,
          readable_bars: Math.max(1, Math.floor(w / min_px[0]))};
}

// The callback (on the x range's start and end, and when the page is ready).
function view({fig, xr, yr, bars, row, texts, strip_texts, strip_bars, min_px, note, fit_y}) {
  const w = fig.inner_width > 50 ? fig.inner_width : 1200, h = fig.inner_height > 50 ? fig.inner_height : 500;
  const prices = fit_y ? fitted_prices(bars.data.x, bars.data.low, bars.data.high, xr.start, xr.end, row) : null;
  if (prices) { yr.start = prices[0]; yr.end = prices[1]; }
  const show = footprint_layers(w, h, xr.start, xr.end, yr.start, yr.end, row, min_px);
  for (const r of texts) r.visible = show.numbers;
  for (const r of strip_texts) r.visible = show.strip_numbers;
  for (const r of strip_bars) r.visible = !show.strip_numbers;
  if (note) note.text = show.numbers ? "Cells read sell × buy (volume hitting the bid × volume lifting the offer)."
    : "Zoomed out: the cells are a heat map (green where buyers led, red where sellers did, darker with more "
      + "volume); zoom in to about " + show.readable_bars + " bars to read sell × buy in each cell.";
}

// A button's callback: the report's charts show the bars the footprint shows.
function show_in_report({footprint_range, report_range}) {
  report_range.setv({start: footprint_range.start, end: footprint_range.end});
}
