// The menus of a sweep heat map (reports/html.py, sweep_heatmap and sweep_selectors): each cell
// shows the best row among those whose further swept parameters match the menus (`any`: every
// value matches), the first in row order on a tie, as reports.html.best_in_cells picks them.
//
// Bokeh runs this file as the body of a CustomJS callback ending with `return select({...})`:
// see reports.html_parts.js_code. tests/test_html_js.py ties best_rows to best_in_cells.

// One flag per row: is it the one shown in its cell (x[i], y[i])? `key`: higher is better;
// `sels[j][i]`: row i's value of the j-th menu's parameter; `chosen[j]`: that menu's value.
function best_rows(x, y, key, sels, chosen, any) {
  const n = x.length, best = new Map();
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (let j = 0; j < chosen.length; j++) if (chosen[j] != any && sels[j][i] != chosen[j]) { ok = false; break; }
    if (!ok) continue;
    const cell = x[i] + "\u0000" + y[i], k = best.get(cell);
    if (k === undefined || key[i] > key[k]) best.set(cell, i);
  }
  const keep = new Array(n).fill(false);
  for (const i of best.values()) keep[i] = true;
  return keep;
}

// The callback, on a menu's value: args source (columns _x _y _key _sel0 ...), filter, menus, any.
function select({source, filter, menus, any}) {
  const d = source.data;
  filter.booleans = best_rows(d._x, d._y, d._key, menus.map((m, j) => d["_sel" + j]), menus.map((m) => m.value), any);
  source.change.emit();
}
