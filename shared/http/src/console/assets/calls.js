// The calls log: filter by days, salesperson and outcome, page through,
// and download the days as CSV.

import { api, all, query, request } from './api.js';
import { h, fill, page, note, say, field, select, table, dateTime, duration, words, busy, saveDownload } from './ui.js';

const OUTCOMES = ['connected', 'no_answer', 'busy', 'failed', 'machine', 'abandoned', 'canceled'];

function day(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function render(main) {
  const today = new Date();
  const weekAgo = new Date(Date.now() - 6 * 86400_000);
  const from = h('input', { type: 'date', value: day(weekAgo), required: true });
  const to = h('input', { type: 'date', value: day(today), required: true });
  const person = select([['', 'Anyone']], '');
  const outcome = select([['', 'Any outcome'], ...OUTCOMES.map((o) => [o, words(o)])], '');
  const go = h('button', { type: 'submit', class: 'primary' }, 'Show calls');
  const exportBtn = h('button', { type: 'button' }, 'Export CSV');
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter calls' },
    field('From', from), field('To', to), field('Salesperson', person), field('Outcome', outcome), go, exportBtn);
  const slot = h('div', { class: 'slot' });
  const list = h('div', {}, note('info', 'Loading calls…'));
  const prevBtn = h('button', { type: 'button' }, 'Previous page');
  const nextBtn = h('button', { type: 'button' }, 'Next page');
  const pageInfo = h('span', { class: 'muted' });
  page(main, 'Calls', filters, slot, list, h('div', { class: 'row pager' }, prevBtn, pageInfo, nextBtn));

  const names = new Map();
  let cursors = [undefined];
  let at = 0;
  let next = null;

  async function loadPeople() {
    try {
      const users = await all('/api/users', { role: 'salesperson' }, 1000);
      for (const u of users) {
        names.set(u.id, u.name);
        person.append(h('option', { value: u.id }, u.name));
      }
    } catch { /* the list still works without names */ }
  }

  async function load() {
    fill(list, note('info', 'Loading calls…'));
    const start = new Date(`${from.value}T00:00:00`);
    const end = new Date(`${to.value}T23:59:59.999`);
    if (!(start <= end)) { fill(list, note('error', 'The first day must not be after the last.')); return; }
    try {
      const body = await api('GET', `/api/calls${query({
        from: start.toISOString(), to: end.toISOString(), salesperson_id: person.value, outcome: outcome.value, limit: 50, cursor: cursors[at],
      })}`);
      next = body.next_cursor;
      fill(list, table('Calls', [
        { label: 'Started', cell: (c) => dateTime(c.created_at) },
        { label: 'Lead', cell: (c) => c.lead_id },
        { label: 'Attempt', cell: (c) => String(c.attempt) },
        { label: 'Salesperson', cell: (c) => (c.salesperson_id ? names.get(c.salesperson_id) || c.salesperson_id : '—') },
        { label: 'Outcome', cell: (c) => h('span', { class: `badge ${c.outcome || c.status}` }, words(c.outcome || c.status)) },
        { label: 'Talk', cell: (c) => (c.talk_secs != null ? duration(c.talk_secs) : '—') },
        { label: 'Disposition', cell: (c) => (c.disposition ? words(c.disposition.outcome) : '—') },
        { label: 'Recording', cell: (c) => (c.recording_url ? h('audio', { controls: true, preload: 'none', src: c.recording_url, 'aria-label': 'Recording' }) : '—') },
      ], body.items, 'No calls match.'));
      prevBtn.disabled = at === 0;
      nextBtn.disabled = !next;
      pageInfo.textContent = `Page ${at + 1}`;
    } catch (e) { fill(list, note('error', e.plain || e.message)); }
  }

  filters.addEventListener('submit', (e) => { e.preventDefault(); cursors = [undefined]; at = 0; load(); });
  prevBtn.addEventListener('click', () => { if (at > 0) { at--; load(); } });
  nextBtn.addEventListener('click', () => { if (next) { cursors[at + 1] = next; at++; load(); } });
  exportBtn.addEventListener('click', () => busy(exportBtn, 'Preparing…', async () => {
    try {
      const res = await request('GET', `/api/calls/export${query({ from: from.value, to: to.value })}`);
      await saveDownload(res, `calls-${from.value}-${to.value}.csv`);
      say(slot, null);
    } catch (e) { say(slot, 'error', `Export failed: ${e.plain || e.message}`); }
  }));
  loadPeople().then(load);
}
