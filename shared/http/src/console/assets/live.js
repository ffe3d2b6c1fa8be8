// The live connection: one WebSocket per signed-in tab, reconnecting with
// exponential backoff (1 s doubling to 30 s, with jitter), a ping every
// 25 seconds (a salesperson who goes silent is made away, see
// docs/EVENTS.md), and a status line saying when the page is offline.
// After a reconnect, pages re-read their state (delivery is best effort).

import { token } from './api.js';

const PING_EVERY_MS = 25_000;
const listeners = new Set();
const pending = new Map();
let socket = null;
let wanted = false;
let attempt = 0;
let retryTimer = null;
let pingTimer = null;
let requestSeq = 0;
let statusEl = null;

function wsUrl() {
  const meta = document.querySelector('meta[name="ibrat-ws-url"]');
  const configured = meta && meta.content.trim();
  if (configured) return configured;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

function show(state, text) {
  if (!statusEl) statusEl = document.getElementById('live');
  if (!statusEl) return;
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function emit(event) {
  for (const fn of listeners) {
    try { fn(event); } catch (e) { console.error(e); }
  }
}

/** Listens to every event (and `{type: "live"}` on each (re)connect). */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function isLive() {
  return socket !== null && socket.readyState === WebSocket.OPEN;
}

/** Sends an action; resolves to its ack, rejects with its error. */
export function send(action, fields = {}) {
  return new Promise((resolve, reject) => {
    if (!isLive()) {
      reject(new Error('the live connection is down; try again when it is back'));
      return;
    }
    const request_id = `r${++requestSeq}`;
    pending.set(request_id, { resolve, reject });
    socket.send(JSON.stringify({ action, request_id, ...fields }));
    setTimeout(() => {
      if (pending.delete(request_id)) reject(new Error('the server did not answer in time'));
    }, 15_000);
  });
}

async function connect() {
  clearTimeout(retryTimer);
  if (!wanted) return;
  show('connecting', attempt ? 'Reconnecting…' : 'Connecting…');
  let bearer;
  try {
    bearer = await token();
  } catch {
    retry();
    return;
  }
  if (!wanted) return;
  const ws = new WebSocket(`${wsUrl()}?token=${encodeURIComponent(bearer)}`);
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    show('live', 'Live');
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: 'ping' }));
    }, PING_EVERY_MS);
    ws.send(JSON.stringify({ action: 'ping' }));
    emit({ type: 'live' });
  };
  ws.onmessage = (m) => {
    let event;
    try { event = JSON.parse(m.data); } catch { return; }
    if ((event.type === 'ack' || event.type === 'error') && event.request_id && pending.has(event.request_id)) {
      const p = pending.get(event.request_id);
      pending.delete(event.request_id);
      if (event.type === 'ack') p.resolve(event);
      else p.reject(Object.assign(new Error(event.error.message), { code: event.error.code }));
      return;
    }
    emit(event);
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    clearInterval(pingTimer);
    for (const p of pending.values()) p.reject(new Error('the live connection closed'));
    pending.clear();
    if (wanted) retry();
  };
}

function retry() {
  const delay = Math.min(30_000, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt = Math.min(attempt + 1, 6);
  const secs = Math.round(delay / 1000);
  show('offline', `Offline — reconnecting in ${secs} s`);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

/** Opens the live connection (idempotent). */
export function startLive() {
  if (wanted) return;
  wanted = true;
  attempt = 0;
  connect();
  window.addEventListener('online', reconnectNow);
}

function reconnectNow() {
  if (wanted && !socket) {
    attempt = 0;
    connect();
  }
}

/** Closes it for good (signing out). */
export function stopLive() {
  wanted = false;
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  window.removeEventListener('online', reconnectNow);
  if (socket) socket.close(1000, 'signed out');
  socket = null;
  show('off', '');
}
