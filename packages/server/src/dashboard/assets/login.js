/**
 * The token form, shown when the API answers 401. `submit(token)` resolves
 * to an error message, or to undefined once the token was accepted.
 */
import { byId } from './dom.js';

export function createLogin(submit) {
  const section = byId('login');
  const form = byId('login-form');
  const input = byId('token');
  const error = byId('login-error');
  const button = form.querySelector('button[type="submit"]');

  const showError = (message) => {
    error.textContent = message ?? '';
    error.hidden = message === undefined;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (token === '') return;
    button.disabled = true;
    try {
      const problem = await submit(token);
      showError(problem);
      if (problem === undefined) input.value = '';
    } finally {
      button.disabled = false;
    }
  });

  return {
    show(message) {
      section.hidden = false;
      showError(message);
      input.focus();
    },
    hide() {
      section.hidden = true;
      showError(undefined);
    },
  };
}
