// Settings: every field of `/api/settings`, as a form built from the
// document itself (so new settings appear without changing the page).

import { api } from './api.js';
import { h, fill, page, note, say, busy, words } from './ui.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Builds controls for `value`, writing changes back into `target[key]`. */
function control(target, key, label) {
  const value = target[key];
  const id = `set-${label.replace(/\W+/g, '-').toLowerCase()}`;
  if (Array.isArray(value) && key === 'days') {
    return h('fieldset', { class: 'days' }, h('legend', {}, words(key)),
      DAYS.map((d) => {
        const box = h('input', { type: 'checkbox', checked: value.includes(d), id: `${id}-${d}` });
        box.addEventListener('change', () => {
          target[key] = DAYS.filter((x) => document.getElementById(`${id}-${x}`).checked);
        });
        return h('label', { for: box.id, class: 'check' }, box, d);
      }));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return h('fieldset', {}, h('legend', {}, words(key)),
      Object.keys(value).map((k) => control(value, k, `${label} ${k}`)));
  }
  let input;
  if (typeof value === 'boolean') {
    input = h('input', { type: 'checkbox', id, checked: value });
    input.addEventListener('change', () => { target[key] = input.checked; });
    return h('div', { class: 'field check' }, input, h('label', { for: id }, words(key)));
  }
  if (typeof value === 'number') {
    input = h('input', { type: 'number', id, value: String(value), step: 'any' });
    input.addEventListener('input', () => { target[key] = input.value === '' ? null : Number(input.value); });
  } else if (typeof value === 'string' && value.length > 60) {
    input = h('textarea', { id, rows: 3 }, value);
    input.addEventListener('input', () => { target[key] = input.value; });
  } else {
    input = h('input', { type: 'text', id, value: value == null ? '' : Array.isArray(value) ? value.join(', ') : String(value) });
    input.addEventListener('input', () => {
      const v = input.value.trim();
      target[key] = Array.isArray(value) ? v.split(',').map((s) => s.trim()).filter(Boolean) : v === '' && value === null ? null : input.value;
    });
  }
  return h('div', { class: 'field' }, h('label', { for: id }, words(key)), input);
}

export function render(main) {
  const slot = h('div', { class: 'slot' });
  const body = h('div', {}, note('info', 'Loading settings…'));
  page(main, 'Settings', slot, body);
  let doc;

  async function load() {
    try {
      doc = await api('GET', '/api/settings');
      const save = h('button', { type: 'submit', class: 'primary' }, 'Save settings');
      const form = h('form', { class: 'card settings', 'aria-label': 'Settings' },
        Object.keys(doc).map((k) => control(doc, k, k)), h('div', { class: 'row' }, save));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        await busy(save, 'Saving…', async () => {
          try {
            doc = await api('PUT', '/api/settings', doc);
            say(slot, 'ok', 'Settings saved. The dialer uses them from its next round.');
          } catch (err) { say(slot, 'error', `Not saved: ${err.plain || err.message}`); }
        });
      });
      fill(body, form);
    } catch (e) { fill(body, note('error', e.plain || e.message)); }
  }
  load();
}
