// The salesperson's screen: their line (session), ready/away, the screen
// pop of the lead being connected, the call timer, hang-up, the outcome
// form with the wrap-up countdown, upcoming callbacks and today's figures.

import { api, query, all, ApiError } from './api.js';
import { onEvent } from './live.js';
import { h, fill, page, say, note, field, duration, since, dateTime, words, figure, busy, startOfToday } from './ui.js';

const OUTCOMES = [
  ['interested', 'Interested'],
  ['not_interested', 'Not interested'],
  ['call_back', 'Call back at a time'],
  ['wrong_number', 'Wrong number'],
  ['do_not_call', 'Do not call'],
];
const AWAY_REASONS = ['Break', 'Lunch', 'Meeting', 'Training', 'Paperwork', 'Other'];
const STATE_WORDS = {
  available: 'Ready', away: 'Away', on_call: 'On a call', wrap_up: 'Wrap-up', offline: 'Offline',
};
const LINE_WORDS = {
  connecting: 'Calling your phone…', up: 'Your line is up', ended: 'Your line has ended',
};
const ENDED_WORDS = {
  agent_ended: 'you ended it', agent_hung_up: 'you hung up your phone', no_answer: 'your phone did not answer',
  busy: 'your phone was busy', failed: 'your phone could not be reached', line_lost: 'the line was lost',
  no_phone: 'your account has no phone number',
};

function pastOutcome(call) {
  if (call.disposition) {
    const d = call.disposition;
    return d.outcome === 'call_back' ? `Call back ${dateTime(d.at)}` : words(d.outcome);
  }
  return words(call.outcome || call.status);
}

export function render(main, ctx) {
  const me = ctx.user;
  const state = {
    session: undefined, // undefined: unknown, null: none, false: not offered by the server
    availability: me.availability, since: me.availability_since,
    reason: sessionStorage.getItem('ibrat.away_reason') || '',
    call: null, // {call_id, lead_id, lead_name, lead_phone, notes, attempts, custom_fields, connected_at, ended, talk_secs}
    wrapUntil: null,
  };

  // --- line ---
  const lineText = h('p', { class: 'big-state', id: 'line-state' }, 'Checking your line…');
  const startBtn = h('button', { type: 'button', class: 'primary' }, 'Start session');
  const endBtn = h('button', { type: 'button' }, 'End session');
  const lineSlot = h('div', { class: 'slot' });
  const lineCard = h('section', { class: 'card', 'aria-labelledby': 'line-h' },
    h('h2', { id: 'line-h' }, 'My line'), lineText, h('div', { class: 'row' }, startBtn, endBtn), lineSlot);

  // --- availability ---
  const stateText = h('p', { class: 'big-state', id: 'availability-state' });
  const stateClock = h('span', { class: 'muted', id: 'state-time' });
  const readyBtn = h('button', { type: 'button', class: 'primary' }, 'Ready');
  const reasonSel = h('select', { id: 'away-reason' }, AWAY_REASONS.map((r) => h('option', { value: r, selected: r === state.reason }, r)));
  const awayBtn = h('button', { type: 'button' }, 'Away');
  const availSlot = h('div', { class: 'slot' });
  const availCard = h('section', { class: 'card', 'aria-labelledby': 'avail-h' },
    h('h2', { id: 'avail-h' }, 'Availability'), h('div', { class: 'row baseline' }, stateText, stateClock),
    h('div', { class: 'row' }, readyBtn, field('Away reason', reasonSel), awayBtn), availSlot);

  // --- call ---
  const popEl = h('div', { id: 'screen-pop' });
  const timerEl = h('output', { class: 'timer', id: 'call-timer', 'aria-label': 'Call time' }, '0:00');
  const hangBtn = h('button', { type: 'button', class: 'danger' }, 'Hang up');
  const callSlot = h('div', { class: 'slot' });
  const callCard = h('section', { class: 'card call', 'aria-labelledby': 'call-h' },
    h('div', { class: 'row spread' }, h('h2', { id: 'call-h' }, 'Current call'), timerEl), popEl,
    h('div', { class: 'row' }, hangBtn), callSlot);

  // --- outcome ---
  const outcomeSel = h('select', { id: 'outcome', required: true },
    h('option', { value: '' }, 'Choose an outcome…'), OUTCOMES.map(([v, l]) => h('option', { value: v }, l)));
  const callbackAt = h('input', { type: 'datetime-local', id: 'callback-at' });
  const callbackField = field('Call back at', callbackAt);
  callbackField.hidden = true;
  const notes = h('textarea', { id: 'outcome-notes', rows: 3, maxlength: 5000 });
  const saveBtn = h('button', { type: 'submit', class: 'primary' }, 'Save outcome');
  const wrapText = h('p', { class: 'muted', id: 'wrap-up', 'aria-live': 'polite' });
  const outcomeSlot = h('div', { class: 'slot' });
  const outcomeForm = h('form', { class: 'card', 'aria-labelledby': 'outcome-h' },
    h('h2', { id: 'outcome-h' }, 'Call outcome'), field('Outcome', outcomeSel), callbackField, field('Notes', notes),
    h('div', { class: 'row' }, saveBtn), wrapText, outcomeSlot);

  // --- callbacks and today ---
  const callbacksEl = h('div', {}, note('info', 'Loading your callbacks…'));
  const todayCalls = figure('Calls today', 'today-calls');
  const todayConnects = figure('Connects today', 'today-connects');
  const todayTalk = figure('Talk time today', 'today-talk');
  const todaySlot = h('div', { class: 'slot' });

  page(main, 'My calls',
    h('div', { class: 'grid agent' },
      h('div', { class: 'column' }, callCard, outcomeForm),
      h('div', { class: 'column' }, lineCard, availCard,
        h('section', { class: 'card', 'aria-labelledby': 'today-h' }, h('h2', { id: 'today-h' }, 'Today'),
          h('div', { class: 'tiles' }, todayCalls.tile, todayConnects.tile, todayTalk.tile), todaySlot),
        h('section', { class: 'card', 'aria-labelledby': 'cb-h' }, h('h2', { id: 'cb-h' }, 'Upcoming callbacks'), callbacksEl))));

  function drawLine() {
    const s = state.session;
    if (s === undefined) return;
    if (s === false) {
      // Still clickable: the answer says again, in words, why it cannot work.
      fill(lineText, 'Sessions are not offered by this server');
      startBtn.disabled = false;
      endBtn.disabled = true;
      return;
    }
    if (!s || s.line === 'ended') {
      const why = s && s.ended_reason ? ` (${ENDED_WORDS[s.ended_reason] || words(s.ended_reason)})` : '';
      fill(lineText, s ? `${LINE_WORDS.ended}${why}` : 'No session: start one to take calls');
      startBtn.disabled = false;
      endBtn.disabled = true;
    } else {
      fill(lineText, LINE_WORDS[s.line] || words(s.line));
      startBtn.disabled = true;
      endBtn.disabled = false;
      // "Your phone will ring" is done with once the line is up.
      if (s.line === 'up') say(lineSlot, null);
    }
  }

  function drawState() {
    const label = STATE_WORDS[state.availability] || words(state.availability);
    fill(stateText, state.availability === 'away' && state.reason ? `${label} — ${state.reason}` : label);
    stateText.dataset.state = state.availability;
    readyBtn.disabled = state.availability === 'available' || state.availability === 'on_call';
    awayBtn.disabled = state.availability === 'away' && reasonSel.value === state.reason;
    tick();
  }

  function drawCall() {
    const c = state.call;
    hangBtn.disabled = !c || c.ended || !state.session;
    saveBtn.disabled = !c;
    if (!c) {
      fill(popEl, h('p', { class: 'muted waiting' },
        state.availability === 'available' ? 'Waiting for the next call…' : 'No call. Mark yourself Ready to take calls.'));
      timerEl.textContent = '0:00';
      tick();
      return;
    }
    const custom = Object.entries(c.custom_fields || {});
    fill(popEl,
      h('p', { class: 'lead-name', id: 'lead-name' }, c.lead_name || 'Unnamed lead'),
      h('p', { class: 'lead-phone' }, h('a', { href: `tel:${c.lead_phone}`, id: 'lead-phone' }, c.lead_phone || '')),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Attempts'), h('dd', { id: 'lead-attempts' }, String(c.attempts ?? '—')),
        h('dt', {}, 'Status'), h('dd', {}, c.ended ? `Ended${c.talk_secs != null ? ` after ${duration(c.talk_secs)}` : ''}` : c.connected_at ? 'Talking' : 'Connecting…'),
        h('dt', {}, 'Notes'), h('dd', { class: 'notes' }, c.notes || '—'),
        custom.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('h3', {}, 'Past outcomes'),
      c.history && c.history.length
        ? h('ul', { class: 'history' }, c.history.map((p) => h('li', {}, `${dateTime(p.created_at)} — ${pastOutcome(p)}${p.notes ? `: ${p.notes}` : ''}`)))
        : h('p', { class: 'muted' }, c.history ? 'No earlier calls.' : 'Loading…'));
    tick();
  }

  function tick() {
    stateClock.textContent = state.since ? `for ${duration(since(state.since))}` : '';
    const c = state.call;
    if (c && c.connected_at && !c.ended) timerEl.textContent = duration(since(c.connected_at));
    if (state.wrapUntil) {
      const left = (Date.parse(state.wrapUntil) - Date.now()) / 1000;
      wrapText.textContent = left > 0 ? `Wrap-up: ${duration(left)} left before the next call` : 'Wrap-up is over';
    } else if (state.availability === 'wrap_up') {
      wrapText.textContent = `Wrap-up for ${duration(since(state.since))}`;
    } else wrapText.textContent = c && c.ended ? 'Save the outcome of this call.' : '';
  }

  async function loadSession() {
    try {
      const body = await api('GET', '/api/session');
      state.session = body.session;
      state.wrapUntil = (body.session && body.session.wrap_up_until) || null;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        state.session = false;
        say(lineSlot, 'error', 'Sessions are not available on this server yet (it answered 404 Not Found), so your phone line cannot be started from here. You can still mark yourself Ready.');
      } else say(lineSlot, 'error', e.plain || e.message);
    }
    drawLine();
    drawCall();
  }

  async function loadProfile() {
    try {
      const p = await api('GET', '/api/auth/profile');
      state.availability = p.availability;
      state.since = p.availability_since;
      drawState();
    } catch (e) { say(availSlot, 'error', e.plain || e.message); }
  }

  async function loadHistory(c) {
    try {
      const lead = await api('GET', `/api/leads/${encodeURIComponent(c.lead_id)}`);
      if (state.call !== c) return;
      c.history = (lead.calls || []).filter((x) => x.id !== c.call_id);
      c.custom_fields = c.custom_fields || lead.custom;
      c.notes = c.notes ?? lead.notes;
      c.attempts = c.attempts ?? lead.attempts;
      c.lead_name = c.lead_name || lead.name;
      c.lead_phone = c.lead_phone || lead.phone;
    } catch (e) {
      c.history = [];
      say(callSlot, 'error', `The lead's history could not be loaded: ${e.plain || e.message}`);
    }
    drawCall();
  }

  /** After a reload: the call in progress or waiting for its outcome. */
  async function loadCurrentCall() {
    if (!['on_call', 'wrap_up'].includes(state.availability)) { drawCall(); return; }
    try {
      const page1 = await api('GET', `/api/calls${query({ salesperson_id: me.id, limit: 1 })}`);
      const last = page1.items[0];
      if (last && !last.disposition && last.bridged_at) {
        const ended = !!last.ended_at;
        state.call = { call_id: last.id, lead_id: last.lead_id, connected_at: last.bridged_at, ended, talk_secs: last.talk_secs, attempts: last.attempt };
        loadHistory(state.call);
      }
    } catch (e) { say(callSlot, 'error', e.plain || e.message); }
    drawCall();
  }

  async function loadCallbacks() {
    try {
      const leads = await all('/api/leads', { status: 'retry_scheduled' }, 1000);
      const mine = leads.filter((l) => l.callback && l.next_attempt_at)
        .sort((a, b) => Date.parse(a.next_attempt_at) - Date.parse(b.next_attempt_at));
      fill(callbacksEl, mine.length
        ? h('ul', { class: 'callbacks' }, mine.slice(0, 20).map((l) =>
          h('li', {}, h('strong', {}, dateTime(l.next_attempt_at)), ` ${l.name || 'Unnamed'} · ${l.phone}`)))
        : note('info', 'No callbacks booked.'));
    } catch (e) { fill(callbacksEl, note('error', e.plain || e.message)); }
  }

  async function loadToday() {
    try {
      const calls = await all('/api/calls', { salesperson_id: me.id, from: startOfToday() }, 2000);
      const connects = calls.filter((c) => c.outcome === 'connected');
      todayCalls.value.textContent = String(calls.length);
      todayConnects.value.textContent = String(connects.length);
      todayTalk.value.textContent = duration(connects.reduce((s, c) => s + (c.talk_secs || 0), 0));
      say(todaySlot, null);
    } catch (e) { say(todaySlot, 'error', e.plain || e.message); }
  }

  // --- actions ---
  startBtn.addEventListener('click', () => busy(startBtn, 'Starting…', async () => {
    say(lineSlot, null);
    try {
      const body = await api('POST', '/api/session');
      state.session = body.session;
      say(lineSlot, 'info', 'Your phone will ring: answer it to open your line.');
    } catch (e) {
      if (e.code === 'no_phone_number') say(lineSlot, 'error', 'Your account has no phone number, so there is no line to call. Ask an admin to add one.');
      else if (e.code === 'session_active') { say(lineSlot, 'info', 'Your session is already running.'); await loadSession(); }
      else if (e.status === 404) { state.session = false; say(lineSlot, 'error', 'Sessions are not available on this server yet (it answered 404 Not Found).'); }
      else say(lineSlot, 'error', `The session did not start: ${e.plain || e.message}`);
    }
  }).then(drawLine));

  endBtn.addEventListener('click', () => busy(endBtn, 'Ending…', async () => {
    say(lineSlot, null);
    try {
      const body = await api('DELETE', '/api/session');
      state.session = body.session;
    } catch (e) { say(lineSlot, 'error', `The session did not end: ${e.plain || e.message}`); }
  }).then(drawLine));

  async function setAvailability(value, button) {
    say(availSlot, null);
    await busy(button, null, async () => {
      try {
        const u = await api('PUT', `/api/users/${encodeURIComponent(me.id)}/availability`, { availability: value });
        state.availability = u.availability || value;
        state.since = u.availability_since || new Date().toISOString();
      } catch (e) {
        if (e.code === 'no_session') say(availSlot, 'error', 'You can be Ready only while your line is up. Start your session first.');
        else say(availSlot, 'error', `That did not work: ${e.plain || e.message}`);
      }
    });
    drawState();
    drawCall();
  }
  readyBtn.addEventListener('click', () => setAvailability('available', readyBtn));
  awayBtn.addEventListener('click', () => {
    state.reason = reasonSel.value;
    sessionStorage.setItem('ibrat.away_reason', state.reason);
    setAvailability('away', awayBtn);
  });
  reasonSel.addEventListener('change', drawState);

  hangBtn.addEventListener('click', () => busy(hangBtn, 'Hanging up…', async () => {
    try {
      await api('POST', '/api/session/hangup');
      say(callSlot, 'info', 'The lead was hung up. You are in wrap-up: save the outcome.');
    } catch (e) {
      if (e.code === 'no_active_call') say(callSlot, 'info', 'There is no call to hang up.');
      else if (e.status === 404) say(callSlot, 'error', 'Hanging up from here needs sessions, which this server does not offer yet. Hang up on your phone.');
      else say(callSlot, 'error', `Hanging up failed: ${e.plain || e.message}`);
    }
  }));

  outcomeSel.addEventListener('change', () => { callbackField.hidden = outcomeSel.value !== 'call_back'; });

  outcomeForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(outcomeSlot, null);
    const c = state.call;
    if (!c) { say(outcomeSlot, 'error', 'There is no call to save an outcome for.'); return; }
    if (!outcomeSel.value) { say(outcomeSlot, 'error', 'Choose an outcome first.'); outcomeSel.focus(); return; }
    const body = { outcome: outcomeSel.value };
    if (body.outcome === 'call_back') {
      if (!callbackAt.value) { say(outcomeSlot, 'error', 'Choose when to call back.'); callbackAt.focus(); return; }
      body.callback_at = new Date(callbackAt.value).toISOString();
    }
    if (notes.value.trim()) body.notes = notes.value.trim();
    await busy(saveBtn, 'Saving…', async () => {
      try {
        await api('POST', `/api/calls/${encodeURIComponent(c.call_id)}/disposition`, body);
        say(outcomeSlot, 'ok', `Saved: ${OUTCOMES.find(([v]) => v === body.outcome)[1]} for ${c.lead_name || 'the lead'}.`);
        state.call = null;
        state.wrapUntil = null;
        outcomeForm.reset();
        callbackField.hidden = true;
        loadCallbacks();
        loadToday();
      } catch (err) {
        if (err.code === 'conflict') say(outcomeSlot, 'error', 'The call is still going on: save the outcome when it ends.');
        else say(outcomeSlot, 'error', `The outcome was not saved: ${err.plain || err.message}`);
      }
    });
    drawCall();
  });

  // --- live events ---
  const off = onEvent((ev) => {
    if (ev.type === 'live') { loadProfile(); loadSession(); return; }
    const mine = ev.salesperson_id === me.id || ev.user_id === me.id;
    if (!mine) return;
    switch (ev.type) {
      case 'user_availability':
        if (ev.availability !== state.availability) state.since = ev.ts || new Date().toISOString();
        state.availability = ev.availability;
        if (ev.availability !== 'wrap_up') state.wrapUntil = null;
        // The session knows when wrap-up ends by itself (wrap_up_until).
        else if (state.session) loadSession();
        drawState();
        if (!state.call) drawCall();
        break;
      case 'session_updated':
        state.session = { ...(state.session || {}), ...ev };
        drawLine();
        break;
      case 'call_incoming': {
        say(callSlot, null);
        say(outcomeSlot, null);
        state.call = {
          call_id: ev.call_id, lead_id: ev.lead_id, lead_name: ev.lead_name, lead_phone: ev.lead_phone,
          notes: ev.notes, attempts: ev.attempts, custom_fields: ev.custom_fields, connected_at: null, ended: false,
        };
        outcomeForm.reset();
        callbackField.hidden = true;
        drawCall();
        loadHistory(state.call);
        break;
      }
      case 'call_bridged':
      case 'call_connected':
        if (!state.call || state.call.call_id !== ev.call_id) {
          // The screen pop was missed (e.g. while reconnecting): the lead's
          // details come from the API.
          state.call = { call_id: ev.call_id, lead_id: ev.lead_id, connected_at: null, ended: false };
          loadHistory(state.call);
        }
        state.call.connected_at = state.call.connected_at || ev.connected_at || ev.ts || new Date().toISOString();
        drawCall();
        break;
      case 'call_completed':
        if (state.call && state.call.call_id === ev.call_id) {
          state.call.ended = true;
          state.call.talk_secs = ev.talk_secs;
          if (ev.outcome !== 'connected') {
            say(callSlot, 'info', `That call ended without a conversation (${words(ev.outcome)}).`);
            state.call = null;
          }
          drawCall();
        }
        loadToday();
        break;
      default:
    }
  });

  const clock = setInterval(tick, 1000);
  drawState();
  drawCall();
  tick();
  loadSession();
  loadProfile().then(loadCurrentCall);
  loadCallbacks();
  loadToday();
  return () => { off(); clearInterval(clock); };
}
