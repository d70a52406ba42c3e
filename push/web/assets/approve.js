'use strict';
// The approval page: pick the number, then confirm with the passkey.
(() => {
  const root = document.getElementById('approval');
  const status = document.getElementById('status');
  if (!root || !status) return;
  const tx = root.dataset.tx;
  const buttons = [...root.querySelectorAll('button.number')];
  const say = (text) => { status.textContent = text; };
  const enable = (on) => buttons.forEach((b) => { b.disabled = !on; });

  const { requestOptions, assertionJSON } = window.atriumWebAuthn;

  async function post(path, body) {
    const res = await fetch('/approve/' + encodeURIComponent(tx) + '/' + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': root.dataset.csrf },
      body: JSON.stringify(body),
    });
    return res.json();
  }

  // finished shows the end of the request; no button is left to press.
  function finished(message) {
    buttons.forEach((b) => b.remove());
    const instructions = document.getElementById('instructions');
    if (instructions) instructions.remove();
    document.querySelectorAll('form').forEach((f) => f.remove());
    say(message);
  }

  async function choose(number) {
    enable(false);
    say('Confirm with your passkey…');
    try {
      const ch = await post('choose', { number });
      if (ch.result) return finished(ch.message);
      if (ch.error) { say(ch.error); return enable(true); }
      let cred;
      try {
        cred = await navigator.credentials.get(requestOptions(ch.options));
      } catch (e) {
        say('The passkey was not confirmed. Tap the number again to retry, or Deny.');
        return enable(true);
      }
      const done = await post('confirm', { number, ceremony: ch.ceremony, assertion: assertionJSON(cred) });
      if (done.result) return finished(done.message);
      say(done.error || 'The approval failed.');
      enable(true);
    } catch (e) {
      say('The server could not be reached. Try again.');
      enable(true);
    }
  }

  buttons.forEach((b) => b.addEventListener('click', () => choose(Number(b.dataset.number))));
  if (!window.PublicKeyCredential) {
    say('This browser cannot use passkeys, so it cannot approve. You can still deny.');
    return;
  }
  enable(true);
  say('Seconds left: ' + root.dataset.seconds);
  let left = Number(root.dataset.seconds);
  const timer = setInterval(() => {
    left -= 1;
    if (buttons[0] && !buttons[0].isConnected) return clearInterval(timer);
    if (left <= 0) { clearInterval(timer); return finished('This request has expired.'); }
    if (!buttons.some((b) => b.disabled)) say('Seconds left: ' + left);
  }, 1000);
})();
