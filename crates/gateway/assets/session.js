// The session page's live view: while the session runs, events for it arrive on the activity
// stream, and the page re-fetches its server-rendered (escaped) conversation and swaps it in.
'use strict';

(function () {
  const current = document.getElementById('conversation');
  const statusBadge = document.getElementById('live-status');
  if (!current || typeof EventSource === 'undefined') { return; }
  const sessionId = current.dataset.sessionId;
  const KINDS = ['transaction_started', 'transaction_finished', 'decision',
    'approval_requested', 'approval_resolved'];

  let timers = [];
  let retryDelay = 1000;
  let source = null;

  function setStatus(text, kind) {
    statusBadge.textContent = text;
    statusBadge.className = 'badge ' + (kind || '');
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  async function refresh() {
    const url = window.location.pathname + '?fragment=1';
    let response;
    try {
      response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    } catch (e) {
      setStatus('offline', 'badge-warn');
      return;
    }
    if (!response.ok) { return; }
    const html = await response.text();
    // The fragment is the server's own escaped rendering; parsing it runs no script.
    const parsed = new DOMParser().parseFromString(html, 'text/html').getElementById('conversation');
    const existing = document.getElementById('conversation');
    if (!parsed || !existing) { return; }
    const follow = nearBottom();
    // Keep open <details> open across the swap.
    const open = new Set();
    existing.querySelectorAll('details[open]').forEach(function (d, i) { open.add(detailsKey(d, i)); });
    parsed.querySelectorAll('details').forEach(function (d, i) { if (open.has(detailsKey(d, i))) { d.open = true; } });
    existing.replaceWith(parsed);
    if (follow) { window.scrollTo(0, document.body.scrollHeight); }
  }

  function detailsKey(d, i) {
    const turn = d.closest('.turn');
    return (turn ? turn.id : '') + ':' + i;
  }

  // The recorder writes a moment after the response ends: fetch soon, and once more later.
  function scheduleRefresh() {
    timers.forEach(clearTimeout);
    timers = [setTimeout(refresh, 400), setTimeout(refresh, 2000)];
  }

  function connect() {
    if (source) { source.close(); }
    source = new EventSource('/api/activity/stream?replay=0&session=' + encodeURIComponent(sessionId));
    source.onopen = function () { retryDelay = 1000; setStatus('live', 'badge-ok'); };
    for (const kind of KINDS) {
      source.addEventListener(kind, function (message) {
        if (kind === 'transaction_started') { setStatus('agent working…', 'badge-warn'); }
        if (kind === 'transaction_finished') { setStatus('live', 'badge-ok'); }
        scheduleRefresh();
      });
    }
    source.addEventListener('lagged', function () { scheduleRefresh(); reconnect(); });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { reconnect(); } else { setStatus('reconnecting…', 'badge-warn'); }
    };
  }

  function reconnect() {
    if (source) { source.close(); }
    setStatus('reconnecting…', 'badge-warn');
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  connect();
})();
