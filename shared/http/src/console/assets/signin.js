// The sign-in form.

import { signIn, ApiError } from './api.js';
import { h, field, say } from './ui.js';

export function renderSignIn(main, message, done) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const slot = h('div', { class: 'slot' });
  const form = h('form', { class: 'card signin', 'aria-label': 'Sign in' },
    field('Email', email), field('Password', password), button, slot);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(slot, null);
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      await signIn(email.value.trim(), password.value);
      done();
    } catch (err) {
      const text = err instanceof ApiError && err.status === 401
        ? 'That email and password do not match an active account.'
        : err instanceof ApiError ? err.plain : `Signing in failed: ${err.message}`;
      say(slot, 'error', text);
      button.disabled = false;
      button.textContent = 'Sign in';
      password.select();
    }
  });
  document.title = 'Sign in · Ibrat Dialer';
  main.replaceChildren(h('div', { class: 'signin-wrap' },
    h('h1', { class: 'brand-big' }, 'Ibrat Dialer'),
    h('p', { class: 'muted' }, 'Sign in to take calls or run the floor.'),
    message ? h('p', { class: 'note info', role: 'status' }, message) : null,
    form));
  email.focus();
}
