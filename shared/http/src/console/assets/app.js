// The console's entry: restores or asks for a sign-in, builds the
// navigation for the user's role and shows the page named by the URL's
// hash (#/agent, #/floor, #/leads, ...). Each page module exports
// `render(main, ctx)` and may return a function that stops it.

import { api, currentUser, onSignedOut, restore, signOut } from './api.js';
import { startLive, stopLive } from './live.js';
import { h, fill, page, note } from './ui.js';
import { renderSignIn } from './signin.js';
import * as agent from './agent.js';
import * as floor from './floor.js';
import * as leads from './leads.js';
import * as imports from './imports.js';
import * as dnc from './dnc.js';
import * as users from './users.js';
import * as calls from './calls.js';
import * as settings from './settings.js';

// [route, title, module, an admin-only route the page needs first]
const ADMIN_PAGES = [
  ['floor', 'Floor', floor, '/api/leads/stats/summary'],
  ['leads', 'Leads', leads, '/api/leads/stats/summary'],
  ['imports', 'Imports', imports, '/api/imports?limit=1'],
  ['dnc', 'Do not call', dnc, '/api/dnc?limit=1'],
  ['users', 'Users', users, '/api/users?limit=1'],
  ['calls', 'Calls', calls, '/api/users?limit=1'],
  ['settings', 'Settings', settings, '/api/settings'],
];
const AGENT_PAGES = [['agent', 'My calls', agent]];
const ALL = [...AGENT_PAGES, ...ADMIN_PAGES];

const main = document.getElementById('main');
const bar = document.getElementById('bar');
const nav = document.getElementById('nav');
let stopPage = null;

function pagesFor(user) {
  return user.role === 'admin' ? ADMIN_PAGES : AGENT_PAGES;
}

function showSignIn(message) {
  if (stopPage) stopPage();
  stopPage = null;
  stopLive();
  bar.hidden = true;
  renderSignIn(main, message, () => {
    const home = `#/${pagesFor(currentUser())[0][0]}`;
    // Changing the hash routes (hashchange); otherwise route now.
    if (['', '#', '#/', '#/signin'].includes(location.hash) && location.hash !== home) location.hash = home;
    else route();
  });
}

function route() {
  const user = currentUser();
  if (!user) {
    showSignIn();
    return;
  }
  const mine = pagesFor(user);
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1] || mine[0][0];
  const found = ALL.find(([n]) => n === name);
  bar.hidden = false;
  fill(document.getElementById('who'), `${user.name || user.email} (${user.role === 'admin' ? 'admin' : 'salesperson'})`);
  fill(nav, mine.map(([n, label]) =>
    h('a', { href: `#/${n}`, 'aria-current': n === name ? 'page' : null }, label)));
  startLive();
  if (stopPage) stopPage();
  stopPage = null;
  if (!found) {
    page(main, 'Page not found', note('error', 'There is no such page. Use the links above.'));
    return;
  }
  const ctx = { user };
  if (!mine.some(([n]) => n === name)) {
    // Not this role's page: the server decides, and the page says why.
    page(main, found[1], note('info', 'Checking whether you may open this page…'));
    const still = () => currentUser()?.id === user.id && (location.hash.match(/^#\/([a-z]+)/) || [])[1] === name;
    api('GET', found[3]).then(
      () => { if (still()) show(found, ctx); },
      (e) => {
        if (!still()) return;
        const why = e.status === 403 ? `The server refused: ${e.message}.` : e.plain;
        page(main, found[1], note('error', `Only admins can open ${found[1]}. ${why}`),
          h('p', {}, h('a', { href: `#/${mine[0][0]}` }, `Back to ${mine[0][1]}`)));
      },
    );
    return;
  }
  show(found, ctx);
}

function show(found, ctx) {
  try {
    stopPage = found[2].render(main, ctx) || null;
  } catch (e) {
    console.error(e);
    page(main, found[1], note('error', `This page could not be shown: ${e.message}`));
  }
}

onSignedOut((reason) => {
  showSignIn(reason === 'expired' ? 'Your session has expired. Please sign in again.' : 'You are signed out.');
});

document.getElementById('signout').addEventListener('click', async () => {
  await signOut();
  location.hash = '#/signin';
});

window.addEventListener('hashchange', () => { if (currentUser()) route(); });

(async () => {
  const user = await restore();
  if (user) route();
  else showSignIn();
})();
