// Leads: search, filter, sort, page, edit, requeue, mark do-not-call, and
// the CSV export.

import { api, query, request } from './api.js';
import { h, fill, page, note, say, field, select, table, dateTime, words, busy, saveDownload } from './ui.js';

const STATUSES = ['pending', 'queued', 'dialing', 'ringing', 'in_call', 'completed', 'retry_scheduled', 'no_more_attempts', 'do_not_call', 'invalid'];
const PRIORITIES = ['urgent', 'high', 'medium', 'low'];
const SORTS = [
  ['', 'Newest first (server order)'],
  ['name', 'Name'],
  ['attempts', 'Most attempts'],
  ['next', 'Next attempt soonest'],
];

export function render(main) {
  const q = h('input', { type: 'search', placeholder: 'Name or phone' });
  const status = select([['', 'Any status'], ...STATUSES.map((s) => [s, words(s)])], '');
  const priority = select([['', 'Any priority'], ...PRIORITIES.map((p) => [p, words(p)])], '');
  const sort = select(SORTS, '');
  const searchBtn = h('button', { type: 'submit', class: 'primary' }, 'Search');
  const exportBtn = h('button', { type: 'button' }, 'Export CSV');
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find leads' },
    field('Search', q), field('Status', status), field('Priority', priority), field('Sort by', sort), searchBtn, exportBtn);
  const slot = h('div', { class: 'slot' });
  const list = h('div', {}, note('info', 'Loading leads…'));
  const prevBtn = h('button', { type: 'button' }, 'Previous page');
  const nextBtn = h('button', { type: 'button' }, 'Next page');
  const pageInfo = h('span', { class: 'muted' });
  const editor = h('div', {});
  page(main, 'Leads', filters, slot, editor, list, h('div', { class: 'row pager' }, prevBtn, pageInfo, nextBtn));

  let cursors = [undefined];
  let at = 0;
  let items = [];
  let next = null;

  function sorted() {
    const out = [...items];
    if (sort.value === 'name') out.sort((a, b) => (a.name || '').localeCompare(b.name || ''));
    if (sort.value === 'attempts') out.sort((a, b) => b.attempts - a.attempts);
    if (sort.value === 'next') out.sort((a, b) => Date.parse(a.next_attempt_at || '9999') - Date.parse(b.next_attempt_at || '9999'));
    return out;
  }

  function draw() {
    fill(list, table('Leads', [
      { label: 'Name', cell: (l) => l.name || '—' },
      { label: 'Phone', cell: (l) => l.phone },
      { label: 'Status', cell: (l) => h('span', { class: `badge ${l.status}` }, words(l.status)) },
      { label: 'Priority', cell: (l) => words(l.priority) },
      { label: 'Attempts', cell: (l) => String(l.attempts) },
      { label: 'Next attempt', cell: (l) => (l.next_attempt_at ? `${dateTime(l.next_attempt_at)}${l.callback ? ' (callback)' : ''}` : '—') },
      { label: 'Actions', cell: (l) => h('div', { class: 'row tight' },
        h('button', { type: 'button', class: 'small', 'aria-label': `Edit ${l.name || l.phone}`, onclick: () => edit(l) }, 'Edit'),
        h('button', { type: 'button', class: 'small', 'aria-label': `Requeue ${l.name || l.phone}`, onclick: (e) => requeue(l, e.target) }, 'Requeue'),
        l.status === 'do_not_call' ? null
          : h('button', { type: 'button', class: 'small danger', 'aria-label': `Mark ${l.name || l.phone} do not call`, onclick: (e) => markDnc(l, e.target) }, 'Do not call')) },
    ], sorted(), 'No leads match.'));
    prevBtn.disabled = at === 0;
    nextBtn.disabled = !next;
    pageInfo.textContent = `Page ${at + 1}`;
  }

  async function load() {
    fill(list, note('info', 'Loading leads…'));
    try {
      const body = await api('GET', `/api/leads${query({ q: q.value.trim(), status: status.value, priority: priority.value, limit: 25, cursor: cursors[at] })}`);
      items = body.items;
      next = body.next_cursor;
      draw();
    } catch (e) { fill(list, note('error', e.plain || e.message)); }
  }

  async function requeue(lead, button) {
    await busy(button, '…', async () => {
      try {
        const r = await api('POST', '/api/leads/bulk/requeue', { ids: [lead.id] });
        say(slot, 'ok', `${lead.name || lead.phone}: ${summarise(r)}`);
        await load();
      } catch (e) { say(slot, 'error', `Requeue refused: ${e.plain || e.message}`); }
    });
  }

  async function markDnc(lead, button) {
    if (!confirm(`Never call ${lead.name || lead.phone} again?`)) return;
    await busy(button, '…', async () => {
      try {
        await api('PATCH', `/api/leads/${encodeURIComponent(lead.id)}`, { do_not_call: true });
        say(slot, 'ok', `${lead.name || lead.phone} is on the do-not-call list.`);
        await load();
      } catch (e) { say(slot, 'error', `Not marked: ${e.plain || e.message}`); }
    });
  }

  function edit(lead) {
    const prio = select(PRIORITIES.map((p) => [p, words(p)]), lead.priority);
    const tz = h('input', { type: 'text', value: lead.timezone || '', placeholder: 'e.g. Asia/Tashkent' });
    const notes = h('textarea', { rows: 3 }, lead.notes || '');
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save lead');
    const cancel = h('button', { type: 'button', onclick: () => fill(editor) }, 'Cancel');
    const msg = h('div', { class: 'slot' });
    const form = h('form', { class: 'card', 'aria-labelledby': 'edit-h' },
      h('h2', { id: 'edit-h' }, `Edit ${lead.name || lead.phone}`),
      field('Priority', prio), field('Time zone', tz), field('Notes', notes), h('div', { class: 'row' }, save, cancel), msg);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      await busy(save, 'Saving…', async () => {
        try {
          const patch = { priority: prio.value, notes: notes.value };
          if (tz.value.trim()) patch.timezone = tz.value.trim();
          await api('PATCH', `/api/leads/${encodeURIComponent(lead.id)}`, patch);
          fill(editor);
          say(slot, 'ok', `Saved ${lead.name || lead.phone}.`);
          await load();
        } catch (err) { say(msg, 'error', `Not saved: ${err.plain || err.message}`); }
      });
    });
    fill(editor, form);
    prio.focus();
  }

  filters.addEventListener('submit', (e) => { e.preventDefault(); cursors = [undefined]; at = 0; load(); });
  sort.addEventListener('change', draw);
  prevBtn.addEventListener('click', () => { if (at > 0) { at--; load(); } });
  nextBtn.addEventListener('click', () => { if (next) { cursors[at + 1] = next; at++; load(); } });
  exportBtn.addEventListener('click', () => busy(exportBtn, 'Preparing…', async () => {
    try {
      const res = await request('GET', '/api/leads/export');
      await saveDownload(res, 'leads.csv');
    } catch (e) { say(slot, 'error', `Export failed: ${e.plain || e.message}`); }
  }));
  load();
}

function summarise(r) {
  if (r.updated) return 'requeued.';
  if (r.skipped && r.skipped.length) return `not requeued (${r.skipped.map((s) => s.reason || s.message || words(s.status)).join(', ')}).`;
  if (r.conflicts && r.conflicts.length) return 'it changed meanwhile; try again.';
  return 'nothing to requeue.';
}
