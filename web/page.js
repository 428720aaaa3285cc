// memscope report: the page's script (embedded into the binary at build time). It reads the
// page-data JSON block, fills the grids, neighbours, pairs and the sortable table, and renders
// the Vega-Lite specs; body's data-status, data-errors, data-rendered and data-charts tell a
// headless browser (tests/e2e/report_test.sh) how rendering went.
(function () {
  let errors = 0, rendered = 0;
  const status = (s) => {
    document.body.dataset.status = s; document.body.dataset.errors = errors; document.body.dataset.rendered = rendered;
  };
  window.addEventListener('error', () => { errors++; status(document.body.dataset.status || 'running'); });
  document.addEventListener('securitypolicyviolation', () => { errors++; });
  const consoleError = console.error;
  console.error = function () { errors++; consoleError.apply(console, arguments); };
  const D = JSON.parse(document.getElementById('page-data').textContent);
  const fmt = (v, d) => (v === null || v === undefined) ? 'n/a' : Number(v).toFixed(d);
  function cell(e, extra) {
    const div = document.createElement('div'); div.className = 'cell';
    if (e.image) {  // the original picture, and on hover the binarized one the models saw
      const img = document.createElement('img'); img.src = e.original || e.image; img.alt = 'example ' + e.index;
      if (e.original) {
        img.title = 'hover: binarized, as the models saw it';
        img.addEventListener('mouseenter', () => { img.src = e.image; img.classList.add('seen'); });
        img.addEventListener('mouseleave', () => { img.src = e.original; img.classList.remove('seen'); });
      }
      div.appendChild(img);
    }
    const t = document.createElement('div');
    t.textContent = '#' + e.index + ' (label ' + e.label + ')\nM ' + fmt(e.mem, 1) + ' \u00b1 ' + fmt(e.mem_se, 1) +
      '\nU ' + fmt(e.logp_in, 0) + ' V ' + fmt(e.logp_out, 0) +
      (e.mia_risk !== undefined && e.mia_risk !== null ? '\nrisk ' + fmt(e.mia_risk, 2) : '') + (extra || '');
    t.style.whiteSpace = 'pre-line'; div.appendChild(t); return div;
  }
  for (const k of Object.keys(D.grids)) {
    const g = document.getElementById('grid-' + k); if (g) D.grids[k].forEach(e => g.appendChild(cell(e)));
  }
  const be = document.getElementById('bin-examples');
  D.bin_examples.forEach(b => {
    const row = document.createElement('div'); row.className = 'nrow';
    const l = document.createElement('b'); l.textContent = 'bin ' + b.bin; row.appendChild(l);
    b.examples.forEach(e => row.appendChild(cell(e))); be.appendChild(row);
  });
  const cats = document.getElementById('categories');
  if (cats) D.categories.forEach(c => {
    const row = document.createElement('div'); row.className = 'nrow';
    const l = document.createElement('b'); l.textContent = c.category + (c.examples.length ? '' : ': none');
    row.appendChild(l); c.examples.forEach(e => row.appendChild(cell(e))); cats.appendChild(row);
  });
  const pairs = document.getElementById('pairs');
  if (pairs) D.pairs.forEach(p => {
    const row = document.createElement('div'); row.className = 'nrow';
    row.appendChild(cell({image: p.sample_image, index: 'sample ' + p.sample + ' of job ' + p.job, label: p.label,
                          mem: null, mem_se: null}, '\nratio ' + fmt(p.ratio, 2)));
    row.appendChild(cell({image: p.train_image, index: p.index, label: p.label, mem: p.mem, mem_se: null},
                         '\n' + (p.in_training ? 'in training' : 'held out') + ', l2 ' + fmt(p.l2, 3)));
    pairs.appendChild(row);
  });
  const nb = document.getElementById('nbrs');
  D.neighbours.forEach(n => {
    const row = document.createElement('div'); row.className = 'nrow'; row.appendChild(cell(n.example));
    n.neighbours.forEach(e => row.appendChild(cell(e, '\nl2 ' + fmt(e.distance, 3)))); nb.appendChild(row);
  });
  // The sortable, searchable table.
  const cols = ['index', 'label', 'mem', 'mem_se', 'logp_in', 'logp_out', 'n_in', 'n_out'];
  const table = document.getElementById('table');
  let rows = D.table.slice(), sortKey = 'mem', asc = false;
  function draw() {
    const f = document.getElementById('filter').value.trim();
    const matching = rows.filter(r => !f || String(r.index) === f || String(r.label) === f),
      shown = matching.slice(0, 200);
    document.getElementById('shown').textContent =
      'showing ' + shown.length + ' of ' + matching.length + ' matching rows';
    table.replaceChildren();
    const head = table.insertRow();
    cols.forEach(c => {
      const th = document.createElement('th');
      th.textContent = c + (c === sortKey ? (asc ? ' \u25b2' : ' \u25bc') : '');
      th.onclick = () => { asc = (sortKey === c) ? !asc : false; sortKey = c; sortRows(); draw(); };
      head.appendChild(th);
    });
    shown.forEach(r => {
      const tr = table.insertRow();
      cols.forEach(c => {
        tr.insertCell().textContent =
          (typeof r[c] === 'number' && !Number.isInteger(r[c])) ? r[c].toFixed(3) : String(r[c]);
      });
    });
  }
  function sortRows() { rows.sort((a, b) => ((a[sortKey] ?? -Infinity) - (b[sortKey] ?? -Infinity)) * (asc ? 1 : -1)); }
  document.getElementById('filter').oninput = draw;
  const overlap = document.getElementById('overlap');  // absent when only one epoch was evaluated
  if (overlap) overlap.textContent =
    'Share of the top 5% by M at each evaluated epoch that is also in the top 5% at the last: ' +
    D.over_epochs.map(e => 'epoch ' + e.epoch + ': ' + fmt(e.top5_overlap_with_last, 2)).join(', ') + '.';
  sortRows(); draw();
  const specs = Object.entries(D.specs);
  status('running');
  Promise.all(specs.map(([id, spec]) => vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'})
                                          .then(() => { rendered++; })))
    .then(() => status('done'))
    .catch((e) => { errors++; consoleError.call(console, e); status('failed'); });
  document.body.dataset.charts = specs.length;
})();
