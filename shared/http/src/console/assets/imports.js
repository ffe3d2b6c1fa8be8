// Imports: upload a CSV with a progress bar moved by the server's
// `import_progress` events (rows handled out of the rows in the file), the
// result counts, the rejected-rows download, and earlier imports.

import { api, query, request, upload } from './api.js';
import { onEvent } from './live.js';
import { h, fill, page, note, say, field, table, dateTime, words, number, busy, saveDownload } from './ui.js';

const COUNTS = [['rows', 'Rows read'], ['imported', 'Imported'], ['duplicates', 'Duplicates'], ['invalid', 'Rejected'], ['do_not_call', 'On the do-not-call list']];

/** Data rows in a CSV, counting line breaks outside quotes (header excluded). */
function countRows(text) {
  let rows = 0, quoted = false, content = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) { if (content) rows++; content = false; continue; }
    if (c !== 13 && c !== 10 && c !== 32) content = true;
  }
  if (content) rows++;
  return Math.max(0, rows - 1);
}

export function render(main) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv,.tsv,text/plain', required: true });
  const go = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const bar = h('progress', { id: 'import-progress', max: 1, value: 0, 'aria-label': 'Import progress' });
  const barText = h('p', { id: 'import-progress-text', class: 'muted', 'aria-live': 'polite' }, 'Choose a CSV file with a phone column (name, email, priority, timezone and notes are optional; other columns are kept as custom fields).');
  const slot = h('div', { class: 'slot' });
  const result = h('div', { id: 'import-result' });
  const history = h('div', {}, note('info', 'Loading earlier imports…'));
  const form = h('form', { class: 'card', 'aria-labelledby': 'up-h' },
    h('h2', { id: 'up-h' }, 'Upload leads'), field('CSV file', file), h('div', { class: 'row' }, go), bar, barText, slot);
  page(main, 'Imports', form, result,
    h('section', { class: 'card', 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, 'Earlier imports'), history));

  let expected = 0;
  let running = false;

  function show(counts) {
    if (!running) return;
    const rows = counts.rows || 0;
    bar.max = Math.max(expected, rows, 1);
    bar.value = rows;
    barText.textContent = `Imported ${number(counts.imported)} of ${number(expected)} rows so far (${number(rows)} read).`;
  }

  function showResult(s) {
    const counts = h('dl', { class: 'counts' }, COUNTS.map(([k, l]) => [h('dt', {}, l), h('dd', { id: `count-${k}` }, number(s[k]))]));
    const errors = s.errors && s.errors.length ? table('First rejected rows', [
      { label: 'Line', cell: (e) => String(e.line) },
      { label: 'Column', cell: (e) => e.column },
      { label: 'Reason', cell: (e) => e.reason },
      { label: 'Value', cell: (e) => e.value },
    ], s.errors.slice(0, 10)) : null;
    fill(result, h('section', { class: 'card', 'aria-labelledby': 'res-h' },
      h('h2', { id: 'res-h' }, `Result: ${s.file_name}`),
      h('p', {}, `Status: ${words(s.status)}.`),
      counts, errors,
      s.invalid ? downloadButton(s) : h('p', { class: 'muted' }, 'No rows were rejected.')));
  }

  function downloadButton(s) {
    const b = h('button', { type: 'button' }, 'Download rejected rows');
    b.addEventListener('click', () => busy(b, 'Preparing…', async () => {
      try {
        const res = await request('GET', `/api/imports/${encodeURIComponent(s.id)}/errors.csv`);
        await saveDownload(res, `${s.id}-errors.csv`);
      } catch (e) { say(slot, 'error', `The download failed: ${e.plain || e.message}`); }
    }));
    return b;
  }

  async function loadHistory() {
    try {
      const body = await api('GET', `/api/imports${query({ limit: 20 })}`);
      fill(history, table('Earlier imports', [
        { label: 'When', cell: (i) => dateTime(i.created_at) },
        { label: 'File', cell: (i) => i.file_name },
        { label: 'Status', cell: (i) => words(i.status) },
        { label: 'Rows', cell: (i) => number(i.rows) },
        { label: 'Imported', cell: (i) => number(i.imported) },
        { label: 'Rejected', cell: (i) => (i.invalid ? downloadButton(i) : '0') },
      ], body.items, 'No imports yet.'));
    } catch (e) { fill(history, note('error', e.plain || e.message)); }
  }

  const off = onEvent((ev) => {
    if (ev.type === 'import_progress' || ev.type === 'import_completed') show(ev);
    if (ev.type === 'import_completed') loadHistory();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) { say(slot, 'error', 'Choose a file first.'); return; }
    say(slot, null);
    fill(result);
    // Very large files are estimated from their size (about 60 bytes a row).
    expected = chosen.size > 50e6 ? Math.round(chosen.size / 60) : countRows(await chosen.text());
    bar.max = Math.max(expected, 1);
    bar.value = 0;
    running = true;
    barText.textContent = 'Uploading…';
    await busy(go, 'Importing…', async () => {
      try {
        const summary = await upload(`/api/leads/upload-csv${query({ file_name: chosen.name })}`, chosen, (sent) => {
          if (bar.value === 0) barText.textContent = sent < 1 ? `Uploading… ${Math.round(sent * 100)} %` : 'Uploaded; importing…';
        });
        expected = summary.rows;
        show(summary);
        running = false;
        bar.max = Math.max(summary.rows, 1);
        bar.value = bar.max;
        barText.textContent = `Done: ${number(summary.rows)} rows read, ${number(summary.imported)} imported.`;
        showResult(summary);
        loadHistory();
      } catch (err) {
        running = false;
        bar.value = 0;
        barText.textContent = 'The import did not finish.';
        say(slot, 'error', `The file was not imported: ${err.plain || err.message}`);
      }
    });
  });
  loadHistory();
  return off;
}
