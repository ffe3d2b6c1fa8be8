// Small DOM and formatting helpers shared by every page.

/** Creates an element: h('button', {type: 'button', onclick}, 'Save'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** "m:ss", or "h:mm:ss" past an hour. */
export function duration(secs) {
  secs = Math.max(0, Math.floor(secs || 0));
  const h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** Seconds since an ISO time. */
export function since(iso) {
  return iso ? (Date.now() - Date.parse(iso)) / 1000 : 0;
}

export function dateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function percent(x) {
  return `${((x || 0) * 100).toFixed(1)} %`;
}

export function number(x) {
  return (x || 0).toLocaleString();
}

/** "retry_scheduled" → "Retry scheduled". */
export function words(code) {
  if (!code) return '—';
  const s = String(code).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A message box: kind is "error", "ok" or "info". */
export function note(kind, text) {
  return h('p', { class: `note ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Sets (or clears, with null) the message shown in a slot element. */
export function say(slot, kind, text) {
  fill(slot, text ? note(kind, text) : null);
}

/** A page's frame: heading (focused for screen readers) and body. */
export function page(main, title, ...content) {
  document.title = `${title} · Ibrat Dialer`;
  const heading = h('h1', { tabindex: '-1' }, title);
  fill(main, heading, ...content);
  heading.focus({ preventScroll: true });
  return heading;
}

/** A table with a caption; columns: [{label, cell(row) → node|string}]. */
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return note('info', empty);
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { 'data-label': c.label }, c.cell(r))))))));
}

/** A labelled field: field('Email', h('input', {...})). */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', {}, hint) : null);
}

/** A labelled select from [value, label] pairs. */
export function select(options, value) {
  return h('select', {}, options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
}

/** A figure with a label and a big value: the wallboard's and today's tiles. */
export function figure(label, id) {
  const value = h('output', { id, class: 'value', 'aria-live': 'off' }, '…');
  const lab = h('span', { class: 'label', id: `${id}-label` }, label);
  const tile = h('section', { class: 'tile', role: 'group', 'aria-labelledby': `${id}-label` }, lab, value);
  value.setAttribute('aria-labelledby', `${id}-label`);
  return { tile, value };
}

/** Runs `fn` with the button disabled and a busy label, then restores it. */
export async function busy(button, text, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (text) button.textContent = text;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

/** Saves a Blob as a file. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Saves an export response as a file: the CSV itself (local mode), or, on
 * AWS, a JSON link to the stored file ({download_url}), which is opened
 * (the storage answers it as an attachment).
 */
export async function saveDownload(res, name) {
  if ((res.headers.get('content-type') || '').startsWith('application/json')) {
    const link = await res.json();
    const a = h('a', { href: link.download_url, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    return;
  }
  saveBlob(await res.blob(), name);
}

/** ISO time of the start of today, in the browser's zone. */
export function startOfToday() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}
