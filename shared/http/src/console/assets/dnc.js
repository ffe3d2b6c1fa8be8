// The do-not-call list: numbers never dialed, added and removed by admins.

import { api, query } from './api.js';
import { h, fill, page, note, say, field, table, dateTime, busy } from './ui.js';

export function render(main) {
  const phone = h('input', { type: 'tel', required: true, placeholder: '+998 90 123 45 67', autocomplete: 'off' });
  const reason = h('input', { type: 'text', maxlength: 200 });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add number');
  const slot = h('div', { class: 'slot' });
  const list = h('div', {}, note('info', 'Loading the list…'));
  const more = h('button', { type: 'button', hidden: true }, 'Show more');
  const form = h('form', { class: 'card', 'aria-labelledby': 'add-h' },
    h('h2', { id: 'add-h' }, 'Add a number'), h('div', { class: 'filters' }, field('Phone number', phone), field('Reason', reason), add), slot);
  page(main, 'Do not call', form, h('section', { class: 'card', 'aria-labelledby': 'dnc-h' }, h('h2', { id: 'dnc-h' }, 'Numbers on the list'), list, more));

  let items = [];
  let next = null;

  function draw() {
    fill(list, table('Numbers on the do-not-call list', [
      { label: 'Phone', cell: (e) => e.phone },
      { label: 'Reason', cell: (e) => e.reason || '—' },
      { label: 'Added', cell: (e) => dateTime(e.added_at) },
      { label: 'Actions', cell: (e) => h('button', { type: 'button', class: 'small', 'aria-label': `Remove ${e.phone}`, onclick: (ev) => remove(e, ev.target) }, 'Remove') },
    ], items, 'The list is empty.'));
    more.hidden = !next;
  }

  async function load(append) {
    try {
      const body = await api('GET', `/api/dnc${query({ limit: 100, cursor: append ? next : undefined })}`);
      items = append ? items.concat(body.items) : body.items;
      next = body.next_cursor;
      draw();
    } catch (e) { fill(list, note('error', e.plain || e.message)); }
  }

  async function remove(entry, button) {
    if (!confirm(`Allow calls to ${entry.phone} again?`)) return;
    await busy(button, '…', async () => {
      try {
        await api('DELETE', `/api/dnc/${encodeURIComponent(entry.phone)}`);
        say(slot, 'ok', `${entry.phone} was removed from the list.`);
        await load();
      } catch (e) { say(slot, 'error', `Not removed: ${e.plain || e.message}`); }
    });
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(add, 'Adding…', async () => {
      try {
        const body = { phone: phone.value.trim() };
        if (reason.value.trim()) body.reason = reason.value.trim();
        await api('POST', '/api/dnc', body);
        say(slot, 'ok', `${body.phone} will not be called.`);
        form.reset();
        await load();
      } catch (err) { say(slot, 'error', `Not added: ${err.plain || err.message}`); }
    });
  });
  more.addEventListener('click', () => load(true));
  load();
}
