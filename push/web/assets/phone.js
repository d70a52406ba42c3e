'use strict';
// The phone setup page: install the service worker, allow notifications,
// subscribe with the server's VAPID key and enroll the subscription.
(() => {
  const root = document.getElementById('phone');
  const button = document.getElementById('enroll');
  const status = document.getElementById('status');
  if (!root || !button || !status) return;
  const say = (text) => { status.textContent = text; };
  const { fromBase64url } = window.atriumWebAuthn;

  if (!('serviceWorker' in navigator) || !('PushManager' in window)) {
    button.disabled = true;
    say('This browser cannot receive push notifications. On an iPhone, add Atrium to the home screen first and open it from there.');
    return;
  }
  // The service worker tells open pages about prompts it received, so this
  // page can show that the phone is ready.
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'atrium-push') say('A sign-in request arrived on this phone.');
  });

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      say('Installing…');
      const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      if (await Notification.requestPermission() !== 'granted') {
        say('Notifications are blocked. Allow them for this site in the browser settings and try again.');
        button.disabled = false;
        return;
      }
      const key = await (await fetch('/push/key', { credentials: 'same-origin' })).json();
      let sub = await reg.pushManager.getSubscription();
      if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64url(key.publicKey) });
      const res = await fetch('/push/subscribe', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': root.dataset.csrf },
        body: JSON.stringify({ name: document.getElementById('name').value, subscription: sub.toJSON() }),
      });
      const out = await res.json();
      if (!res.ok) throw new Error(out.error || res.statusText);
      say('This phone will now receive sign-in approvals.');
    } catch (e) {
      say('Could not set up approvals: ' + e.message);
      button.disabled = false;
    }
  });
})();
