'use strict';
// Atrium's service worker: shows a sign-in request pushed by the server and
// opens its approval page when tapped. The logic sits in functions on self
// so that tests can call them directly (no browser automation can click a
// notification).

const validTx = (tx) => typeof tx === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(tx);

// atriumShow displays one request. The payload names the app, browser,
// system and address of the sign-in, never the number to pick.
self.atriumShow = async (data) => {
  if (!data || !validTx(data.tx)) return;
  await self.registration.showNotification('Sign-in to ' + (data.app || 'Atrium'), {
    body: 'From ' + data.browser + ' on ' + data.os + ', ' + data.ip + '. Tap to review.',
    tag: 'atrium-signin',
    renotify: true,
    requireInteraction: true,
    icon: '/push/icons/192.png',
    data: { tx: data.tx },
    actions: [{ action: 'review', title: 'Review' }, { action: 'deny', title: 'Deny' }],
  });
  // Open pages (the phone setup page) learn that a prompt is showing.
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  windows.forEach((c) => c.postMessage({ type: 'atrium-push', tx: data.tx }));
};

// atriumClick opens the approval page of a tapped notification (its Deny
// button opens the page with Deny ready).
self.atriumClick = async (notification, action) => {
  notification.close();
  const tx = notification.data && notification.data.tx;
  if (!validTx(tx)) return null;
  const url = '/approve/' + tx + (action === 'deny' ? '?deny' : '');
  // Reuse a window this worker controls (the installed app), else open one.
  const windows = await self.clients.matchAll({ type: 'window' });
  for (const c of windows) {
    try {
      await c.focus();
    } catch (e) {
      // Focusing needs the click's user activation; navigating does not.
    }
    return c.navigate(url);
  }
  return self.clients.openWindow(url);
};

self.addEventListener('push', (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch (e) {
    data = null;
  }
  event.waitUntil(self.atriumShow(data));
});

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(self.atriumClick(event.notification, event.action));
});

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
