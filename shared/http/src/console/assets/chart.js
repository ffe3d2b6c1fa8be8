// SVG charts drawn by the page: grouped bars per hour.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * Bars for each hour 0–23: series = [{label, cls, values: number[24]}].
 * The SVG carries a title and a text summary for screen readers.
 */
export function hourlyBars(title, series) {
  const W = 720, H = 220, left = 34, bottom = 24, top = 10;
  // An even top, at least 2, so the middle grid line is a whole number.
  const top0 = Math.max(2, ...series.flatMap((s) => s.values));
  const max = top0 + (top0 % 2);
  const plotW = W - left - 6, plotH = H - top - bottom;
  const slot = plotW / 24, barW = Math.max(2, (slot - 4) / series.length);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', preserveAspectRatio: 'none' });
  const totals = series.map((s) => `${s.label} ${s.values.reduce((a, b) => a + b, 0)}`).join(', ');
  root.append(svg('title', {}, `${title}: ${totals}`));
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH * (1 - f);
    root.append(svg('line', { x1: left, x2: W - 6, y1: y, y2: y, class: 'grid' }));
    root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, String(Math.round(max * f))));
  }
  for (let hour = 0; hour < 24; hour++) {
    const x0 = left + hour * slot + 2;
    series.forEach((s, i) => {
      const v = s.values[hour] || 0;
      const bh = (v / max) * plotH;
      const bar = svg('rect', { x: x0 + i * barW, y: top + plotH - bh, width: barW - 1, height: bh, class: `bar ${s.cls}` });
      bar.append(svg('title', {}, `${String(hour).padStart(2, '0')}:00 ${s.label}: ${v}`));
      root.append(bar);
    });
    if (hour % 3 === 0) root.append(svg('text', { x: x0 + slot / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, `${String(hour).padStart(2, '0')}h`));
  }
  return root;
}

/** A legend for the same series. */
export function legend(series) {
  const ul = document.createElement('ul');
  ul.className = 'legend';
  for (const s of series) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = `swatch ${s.cls}`;
    sw.setAttribute('aria-hidden', 'true');
    li.append(sw, s.label);
    ul.append(li);
  }
  return ul;
}
