'use strict';
// The login page waiting for the phone: poll the transaction's status and
// continue the sign-in as soon as it is answered.
(() => {
  const root = document.getElementById('push-wait');
  const status = document.getElementById('push-status');
  if (!root || !status) return;
  const form = root.closest('form');
  const poll = async () => {
    try {
      const res = await fetch('/push/status/' + encodeURIComponent(root.dataset.tx), { credentials: 'same-origin', cache: 'no-store' });
      const out = await res.json();
      if (out.status && out.status !== 'pending') {
        status.textContent = out.status === 'approved' ? 'Approved. Signing you in…' : 'Answered on your phone.';
        form.requestSubmit();
        return;
      }
    } catch (e) {
      status.textContent = 'Waiting for your phone… (connection trouble, still trying)';
    }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
})();
