// The report's HTML: one self-contained page (styles, data, chart SVGs and Vega's runtime inline;
// no request leaves the file), readable without scripts, interactive with them.

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON inside a <script> element: `<` escaped so that no `</script>` or `<!--` can end it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A script's source inside a <script> element (a literal `</script` would end it). */
export function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

export function anchor(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export const STYLE = `
:root{--ink:#1d1d1f;--soft:#5f6368;--line:#dadce0;--band:#f6f7f9;--accent:#0067a5}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);margin:0;line-height:1.45;font-size:14px}
header{padding:18px 28px 10px;border-bottom:1px solid var(--line);background:var(--band)}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:var(--soft)}
nav{padding:8px 28px;border-bottom:1px solid var(--line);font-size:13px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none}
main{padding:8px 28px 40px;max-width:1500px}
section{margin:26px 0}
h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 4px}
th,td{border-bottom:1px solid var(--line);padding:4px 9px;text-align:left;vertical-align:top}
th{background:var(--band);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.na{color:#8a8a8a}
td.best{font-weight:700}
caption{caption-side:bottom;text-align:left;color:var(--soft);font-size:12px;padding-top:6px;max-width:1100px}
.scroll{overflow-x:auto}
figure.chart{display:inline-block;vertical-align:top;margin:10px 18px 14px 0;max-width:100%}
figure.chart .plot{overflow-x:auto}
figure.chart svg{max-width:100%;height:auto}
figcaption{font-size:12px;color:var(--soft);max-width:760px}
figcaption a{color:var(--accent)}
.status-done{color:#1e7b34}.status-failed{color:#b3261e}.status-cancelled,.status-running{color:#8a6d00}
code,pre{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:12px}
pre{background:var(--band);padding:10px;overflow-x:auto;border:1px solid var(--line)}
.muted{color:var(--soft)}
details{margin:6px 0}
summary{cursor:pointer;color:var(--accent)}
`;

/**
 * Turns each figure that has a Vega spec into a live view (tooltips, a legend that filters) once
 * the runtime is there; the static SVG stays until the view has drawn. When every view is drawn,
 * `document.body.dataset.charts` becomes "ready" (a test waits for it).
 */
export const UPGRADE_SCRIPT = `
(function () {
  var holder = document.getElementById('vega-specs');
  var specs = holder ? JSON.parse(holder.textContent) : {};
  var ids = Object.keys(specs);
  var pending = ids.length;
  function done() { if (--pending <= 0) document.body.dataset.charts = 'ready'; }
  if (!ids.length || typeof vega === 'undefined') { document.body.dataset.charts = 'static'; return; }
  ids.forEach(function (id) {
    var figure = document.getElementById(id);
    var plot = figure && figure.querySelector('.plot');
    if (!plot) { done(); return; }
    var box = document.createElement('div');
    var view = new vega.View(vega.parse(specs[id]), { renderer: 'svg', container: box, hover: true });
    view.runAsync().then(function () {
      plot.replaceChildren(box);
      figure.dataset.live = 'true';
      done();
    });
  });
})();
`;
