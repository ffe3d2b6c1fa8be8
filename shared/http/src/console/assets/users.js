// Users: create salespeople and admins, edit phone, reset a password, deactivate.

import { api, all } from './api.js';
import { h, fill, page, note, say, field, select, table, words, busy } from './ui.js';

export function render(main, ctx) {
  const name = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
  const phone = h('input', { type: 'tel', placeholder: 'the phone the dialer rings' });
  const role = select([['salesperson', 'Salesperson'], ['admin', 'Admin']], 'salesperson');
  const password = h('input', { type: 'password', required: true, minlength: 10, autocomplete: 'new-password' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create user');
  const slot = h('div', { class: 'slot' });
  const list = h('div', {}, note('info', 'Loading users…'));
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-h' }, h('h2', { id: 'new-h' }, 'New user'),
    h('div', { class: 'filters' }, field('Name', name), field('Email', email), field('Phone', phone), field('Role', role),
      field('Password', password, 'At least 10 characters; they can change it after signing in.'), create), slot);
  page(main, 'Users', form, h('section', { class: 'card', 'aria-labelledby': 'users-h' }, h('h2', { id: 'users-h' }, 'Everyone'), list));

  async function load() {
    try {
      const users = await all('/api/users', {}, 2000);
      users.sort((a, b) => Number(b.active) - Number(a.active) || (a.name || '').localeCompare(b.name || ''));
      fill(list, table('Users', [
        { label: 'Name', cell: (u) => u.name },
        { label: 'Email', cell: (u) => u.email },
        { label: 'Phone', cell: (u) => u.phone || '—' },
        { label: 'Role', cell: (u) => words(u.role) },
        { label: 'State', cell: (u) => (u.active ? words(u.availability) : 'Deactivated') },
        { label: 'Actions', cell: (u) => actions(u) },
      ], users));
    } catch (e) { fill(list, note('error', e.plain || e.message)); }
  }

  function actions(u) {
    const row = h('div', { class: 'row tight' });
    if (u.active) {
      row.append(h('button', { type: 'button', class: 'small', 'aria-label': `Change phone of ${u.name}`, onclick: (e) => changePhone(u, e.target) }, 'Change phone'));
      if (u.id !== ctx.user.id) {
        row.append(h('button', { type: 'button', class: 'small', 'aria-label': `Reset password of ${u.name}`, onclick: (e) => resetPassword(u, e.target) }, 'Reset password'));
        row.append(h('button', { type: 'button', class: 'small danger', 'aria-label': `Deactivate ${u.name}`, onclick: (e) => deactivate(u, e.target) }, 'Deactivate'));
      }
    } else {
      row.append(h('button', { type: 'button', class: 'small', 'aria-label': `Reactivate ${u.name}`, onclick: (e) => patch(u, { active: true }, e.target, 'reactivated') }, 'Reactivate'));
    }
    return row;
  }

  async function patch(u, body, button, done) {
    await busy(button, '…', async () => {
      try {
        await api('PATCH', `/api/users/${encodeURIComponent(u.id)}`, body);
        say(slot, 'ok', `${u.name} ${done}.`);
        await load();
      } catch (e) { say(slot, 'error', `${u.name} was not ${done}: ${e.plain || e.message}`); }
    });
  }

  function changePhone(u, button) {
    const value = prompt(`New phone number for ${u.name}`, u.phone || '');
    if (value !== null && value.trim()) patch(u, { phone: value.trim() }, button, 'updated');
  }

  async function resetPassword(u, button) {
    const value = prompt(`A temporary password for ${u.name} (at least 10 characters). They are signed out everywhere and sign in with it.`);
    if (value === null) return;
    await busy(button, '…', async () => {
      try {
        await api('POST', `/api/users/${encodeURIComponent(u.id)}/password`, { new_password: value });
        say(slot, 'ok', `${u.name}'s password is reset; give them the new one.`);
      } catch (e) { say(slot, 'error', `The password was not reset: ${e.plain || e.message}`); }
    });
  }

  async function deactivate(u, button) {
    if (!confirm(`Deactivate ${u.name}? They are signed out and get no more calls.`)) return;
    await busy(button, '…', async () => {
      try {
        await api('POST', `/api/users/${encodeURIComponent(u.id)}/deactivate`);
        say(slot, 'ok', `${u.name} is deactivated.`);
        await load();
      } catch (e) { say(slot, 'error', `Not deactivated: ${e.plain || e.message}`); }
    });
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(create, 'Creating…', async () => {
      try {
        const body = { name: name.value.trim(), email: email.value.trim(), role: role.value, password: password.value };
        if (phone.value.trim()) body.phone = phone.value.trim();
        const u = await api('POST', '/api/auth/register', body);
        say(slot, 'ok', `${u.name} can now sign in as ${u.email}.`);
        form.reset();
        await load();
      } catch (err) { say(slot, 'error', `The user was not created: ${err.plain || err.message}`); }
    });
  });
  load();
}
