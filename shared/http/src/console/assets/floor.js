// The admin's live floor: salespeople by state, calls ringing and in
// progress, today's abandonment and connect rates against the 3 % cap,
// leads left, and per-hour charts. The figures are the statistics route's
// (`/api/leads/stats/summary`), re-read whenever a call or lead event
// arrives (at most once a second), so they always agree with it.

import { api, all } from './api.js';
import { onEvent } from './live.js';
import { h, fill, page, note, say, figure, duration, since, percent, number, words, table, startOfToday } from './ui.js';
import { hourlyBars, legend } from './chart.js';

/** The legal cap on abandoned calls (share of calls answered by a person). */
const ABANDON_CAP = 0.03;
/** Warn from this share of the cap. */
const WARN_AT = 0.8;

const STATE_ORDER = ['on_call', 'wrap_up', 'available', 'away', 'offline'];
const STATE_WORDS = { available: 'Ready', on_call: 'On a call', wrap_up: 'Wrap-up', away: 'Away', offline: 'Offline' };

export function render(main) {
  const f = {
    ready: figure('Salespeople ready', 'fig-ready'),
    inProgress: figure('Calls in progress', 'fig-in-progress'),
    ringing: figure('Calls ringing', 'fig-ringing'),
    queued: figure('Leads waiting to dial', 'fig-queued'),
    abandon: figure('Abandonment rate', 'fig-abandon'),
    connect: figure('Connect rate', 'fig-connect'),
    calls: figure('Calls today', 'fig-calls'),
    left: figure('Leads left', 'fig-left'),
  };
  const capNote = h('p', { id: 'abandon-cap', class: 'cap' });
  f.abandon.tile.append(capNote);
  const slot = h('div', { class: 'slot' });
  const peopleEl = h('div', {}, note('info', 'Loading salespeople…'));
  const chartEl = h('div', {}, note('info', 'Loading today’s calls…'));
  const updated = h('p', { class: 'muted small', id: 'floor-updated' });
  page(main, 'Floor', slot,
    h('div', { class: 'tiles wall' }, Object.values(f).map((x) => x.tile)),
    updated,
    h('section', { class: 'card', 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, 'Salespeople'), peopleEl),
    h('section', { class: 'card', 'aria-labelledby': 'hours-h' }, h('h2', { id: 'hours-h' }, 'Today by hour'), chartEl));

  const people = new Map(); // id → user
  const currentLead = new Map(); // salesperson id → lead name
  let summaryTimer = null, lastSummary = 0, stopped = false;

  function drawPeople() {
    const list = [...people.values()].filter((u) => u.role === 'salesperson' && u.active)
      .sort((a, b) => STATE_ORDER.indexOf(a.availability) - STATE_ORDER.indexOf(b.availability) || (a.name || '').localeCompare(b.name || ''));
    f.ready.value.textContent = String(list.filter((u) => u.availability === 'available').length);
    fill(peopleEl, table('Salespeople by state', [
      { label: 'Name', cell: (u) => u.name || u.email },
      { label: 'State', cell: (u) => h('span', { class: `badge ${u.availability}` }, STATE_WORDS[u.availability] || words(u.availability)) },
      { label: 'Time in state', cell: (u) => h('span', { class: 'since', 'data-since': u.availability_since }, duration(since(u.availability_since))) },
      { label: 'Current lead', cell: (u) => (u.availability === 'on_call' || u.availability === 'wrap_up') ? (currentLead.get(u.id) || '—') : '—' },
    ], list, 'No salespeople yet. Add them on the Users page.'));
  }

  async function loadPeople() {
    try {
      const users = await all('/api/users', { role: 'salesperson', active: true }, 1000);
      people.clear();
      for (const u of users) people.set(u.id, u);
      drawPeople();
    } catch (e) { fill(peopleEl, note('error', e.plain || e.message)); }
  }

  async function loadSummary() {
    lastSummary = Date.now();
    try {
      const s = await api('GET', '/api/leads/stats/summary');
      const st = s.by_status || {};
      f.inProgress.value.textContent = number(st.in_call);
      f.ringing.value.textContent = number((st.ringing || 0) + (st.dialing || 0));
      f.queued.value.textContent = number(st.queued);
      f.left.value.textContent = number((st.queued || 0) + (st.retry_scheduled || 0) + (st.pending || 0));
      f.calls.value.textContent = number(s.calls_today);
      f.connect.value.textContent = percent(s.connect_rate);
      f.abandon.value.textContent = percent(s.abandonment_rate);
      const level = s.abandonment_rate >= ABANDON_CAP ? 'over' : s.abandonment_rate >= ABANDON_CAP * WARN_AT ? 'near' : 'fine';
      f.abandon.tile.dataset.level = level;
      capNote.textContent = level === 'over'
        ? `Over the ${percent(ABANDON_CAP)} cap: slow the pacing now (${s.abandoned_today} abandoned today)`
        : level === 'near' ? `Nearing the ${percent(ABANDON_CAP)} cap (${s.abandoned_today} abandoned today)`
          : `Cap ${percent(ABANDON_CAP)} · ${s.abandoned_today} abandoned today`;
      capNote.setAttribute('role', level === 'fine' ? 'note' : 'alert');
      updated.textContent = `Figures for ${s.day} (UTC), updated ${new Date().toLocaleTimeString()}.`;
      say(slot, null);
    } catch (e) {
      say(slot, 'error', e.plain || e.message);
    }
  }

  function soonSummary() {
    if (summaryTimer) return;
    const wait = Math.max(0, 1000 - (Date.now() - lastSummary));
    summaryTimer = setTimeout(() => { summaryTimer = null; if (!stopped) loadSummary(); }, wait);
  }

  async function loadChart() {
    try {
      const calls = await all('/api/calls', { from: startOfToday() }, 5000);
      const series = [
        { label: 'Calls', cls: 's-calls', values: Array(24).fill(0) },
        { label: 'Connects', cls: 's-connects', values: Array(24).fill(0) },
        { label: 'Abandons', cls: 's-abandons', values: Array(24).fill(0) },
      ];
      for (const c of calls) {
        const hour = new Date(c.created_at).getHours();
        series[0].values[hour]++;
        if (c.outcome === 'connected') series[1].values[hour]++;
        if (c.outcome === 'abandoned') series[2].values[hour]++;
      }
      fill(chartEl, legend(series), hourlyBars('Calls, connects and abandons by hour today', series),
        h('p', { class: 'muted small' }, `Hours in your time zone; ${calls.length} calls so far today.`));
    } catch (e) { fill(chartEl, note('error', e.plain || e.message)); }
  }

  const off = onEvent((ev) => {
    switch (ev.type) {
      case 'live': loadPeople(); loadSummary(); break;
      case 'user_availability': {
        const u = people.get(ev.user_id);
        if (u) {
          if (u.availability !== ev.availability) u.availability_since = ev.ts || new Date().toISOString();
          u.availability = ev.availability;
          drawPeople();
        } else loadPeople();
        break;
      }
      case 'call_incoming':
        if (ev.salesperson_id) currentLead.set(ev.salesperson_id, ev.lead_name || ev.lead_phone || 'a lead');
        drawPeople();
        soonSummary();
        break;
      case 'call_created': case 'call_ringing': case 'call_answered': case 'call_bridged': case 'call_connected':
      case 'call_completed': case 'lead_updated': case 'import_completed':
        soonSummary();
        break;
      default:
    }
  });

  const tick = setInterval(() => {
    for (const el of main.querySelectorAll('.since[data-since]')) el.textContent = duration(since(el.dataset.since));
  }, 1000);
  const periodic = setInterval(() => { loadSummary(); loadChart(); }, 30_000);
  loadPeople();
  loadSummary();
  loadChart();
  return () => { stopped = true; off(); clearInterval(tick); clearInterval(periodic); clearTimeout(summaryTimer); };
}
