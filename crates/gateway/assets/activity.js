// The live activity feed: events from /api/activity/stream, newest first. Every value from an
// event is written with textContent or as an attribute, never parsed as HTML.
'use strict';

(function () {
  const MAX_ROWS = 500;
  const REPLAY = 200;
  const KINDS = ['transaction_started', 'transaction_finished', 'decision',
    'approval_requested', 'approval_resolved', 'policy_changed'];

  const feed = document.getElementById('feed');
  const empty = document.getElementById('feed-empty');
  const summary = document.getElementById('feed-summary');
  const statusBadge = document.getElementById('conn-status');
  const pauseButton = document.getElementById('pause');
  const clearButton = document.getElementById('clear');
  const filters = {
    session: document.getElementById('filter-session'),
    model: document.getElementById('filter-model'),
    decision: document.getElementById('filter-decision'),
    kind: document.getElementById('filter-kind'),
  };
  if (!feed) { return; }

  let source = null;
  let paused = false;
  let held = [];
  let retryDelay = 1000;
  let retryTimer = null;
  const seen = new Set();
  const seenOrder = [];
  // Decisions do not name the model: remember it from the transaction's other events.
  const models = new Map();

  function setStatus(text, kind) {
    statusBadge.textContent = text;
    statusBadge.className = 'badge ' + (kind || '');
  }

  function remember(id) {
    if (!id || seen.has(id)) { return false; }
    seen.add(id);
    seenOrder.push(id);
    if (seenOrder.length > 5000) { seen.delete(seenOrder.shift()); }
    return true;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function clock(ms) {
    if (typeof ms !== 'number') { return ''; }
    return new Date(ms).toISOString().slice(11, 19);
  }

  function short(id) {
    return id ? String(id).slice(-12) : '';
  }

  // The decision a row stands for, in the filter's vocabulary.
  function decisionOf(ev) {
    if (ev.kind === 'transaction_finished') { return ev.final_decision || ''; }
    if (ev.kind === 'decision') {
      if (ev.status === 'unavailable') { return 'unavailable'; }
      return { block: 'blocked', replace: 'modified', pass: 'pass' }[ev.verdict] || ev.verdict || '';
    }
    return '';
  }

  function describe(ev) {
    switch (ev.kind) {
      case 'transaction_started':
        return (ev.client_api || '') + (ev.stream ? ', streaming' : '');
      case 'transaction_finished':
        return 'HTTP ' + ev.status + ' in ' + (typeof ev.total_ms === 'number' ? ev.total_ms.toFixed(0) : '?') + ' ms';
      case 'decision':
        return (ev.policy || '') + ' on block ' + ev.block_index + ': ' + (ev.verdict || '') +
          (ev.status && ev.status !== 'decided' ? ' (' + ev.status + ')' : '') +
          (typeof ev.score === 'number' ? ', score ' + ev.score.toFixed(2) : '');
      case 'approval_requested':
        return (ev.policy || '') + ': ' + (ev.summary || '');
      case 'approval_resolved':
        return (ev.outcome || '') + (ev.resolved_by ? ' by ' + ev.resolved_by : '');
      case 'policy_changed':
        return (ev.class || '') + ' activated by ' + (ev.activated_by || '?');
      default:
        return '';
    }
  }

  function buildRow(envelope) {
    const ev = envelope.event || {};
    const txn = ev.transaction_id || '';
    if (ev.model && txn) { models.set(txn, ev.model); }
    const model = ev.model || models.get(txn) || '';
    const decision = decisionOf(ev);
    const row = el('li', 'feed-row kind-' + (ev.kind || 'unknown'));
    row.dataset.transactionId = txn;
    row.dataset.session = ev.session_id || '';
    row.dataset.model = model;
    row.dataset.decision = decision;
    row.dataset.kind = ev.kind || '';

    row.appendChild(el('time', 'feed-time', clock(ev.at_ms)));
    row.appendChild(el('span', 'badge feed-kind', (ev.kind || '').replace(/_/g, ' ')));
    const decisionCell = el('span', 'feed-decision', decision);
    if (decision) { decisionCell.classList.add('decision-' + decision); }
    row.appendChild(decisionCell);
    row.appendChild(el('span', 'feed-model', model));
    row.appendChild(el('span', 'feed-detail', describe(ev)));
    const links = el('span', 'feed-links');
    if (ev.session_id) {
      const s = el('a', 'feed-session', 'session ' + short(ev.session_id));
      s.href = '/history/' + encodeURIComponent(ev.session_id);
      links.appendChild(s);
    }
    if (txn) {
      const a = el('a', 'feed-link', 'transaction ' + short(txn));
      a.href = '/transactions/' + encodeURIComponent(txn);
      links.appendChild(a);
      row.classList.add('clickable');
    }
    row.appendChild(links);
    return row;
  }

  function matches(row) {
    const s = filters.session.value.trim().toLowerCase();
    const m = filters.model.value.trim().toLowerCase();
    const d = filters.decision.value;
    const k = filters.kind.value;
    return (!s || row.dataset.session.toLowerCase().includes(s)) &&
      (!m || row.dataset.model.toLowerCase().includes(m)) &&
      (!d || row.dataset.decision === d) &&
      (!k || row.dataset.kind === k);
  }

  function refreshSummary() {
    const rows = feed.children.length;
    let shown = 0;
    for (const row of feed.children) { if (!row.hidden) { shown += 1; } }
    empty.hidden = rows > 0;
    summary.textContent = rows === 0 ? '' :
      shown + ' of ' + rows + ' events shown (the newest ' + MAX_ROWS + ' are kept)';
  }

  function applyFilters() {
    for (const row of feed.children) { row.hidden = !matches(row); }
    refreshSummary();
  }

  function add(envelope) {
    const row = buildRow(envelope);
    row.hidden = !matches(row);
    feed.insertBefore(row, feed.firstChild);
    while (feed.children.length > MAX_ROWS) { feed.removeChild(feed.lastChild); }
  }

  function receive(message) {
    if (!remember(message.lastEventId)) { return; }
    let envelope;
    try { envelope = JSON.parse(message.data); } catch (e) { return; }
    if (paused) {
      held.push(envelope);
      if (held.length > MAX_ROWS) { held.shift(); }
      pauseButton.textContent = 'Resume (' + held.length + ' new)';
      return;
    }
    add(envelope);
    refreshSummary();
  }

  function connect() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    if (source) { source.close(); }
    setStatus('connecting…', '');
    // Same origin: the browser sends the session cookie with the request.
    source = new EventSource('/api/activity/stream?replay=' + REPLAY);
    source.onopen = function () {
      retryDelay = 1000;
      setStatus(paused ? 'paused' : 'live', paused ? 'badge-warn' : 'badge-ok');
    };
    for (const kind of KINDS) { source.addEventListener(kind, receive); }
    source.addEventListener('lagged', function (message) {
      let missed = '?';
      try { missed = JSON.parse(message.data).missed; } catch (e) { /* keep '?' */ }
      summary.textContent = 'The feed fell behind and skipped ' + missed + ' events; reconnecting.';
      reconnectSoon();
    });
    source.onerror = function () {
      // The browser retries by itself while CONNECTING; a CLOSED stream (e.g. the server
      // answered 401 or ended the stream) is ours to retry, with a growing delay.
      if (source.readyState === EventSource.CLOSED) { reconnectSoon(); } else { setStatus('reconnecting…', 'badge-warn'); }
    };
  }

  function reconnectSoon() {
    if (source) { source.close(); }
    setStatus('reconnecting in ' + Math.round(retryDelay / 1000) + ' s', 'badge-warn');
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  pauseButton.addEventListener('click', function () {
    paused = !paused;
    pauseButton.setAttribute('aria-pressed', paused ? 'true' : 'false');
    if (!paused) {
      for (const envelope of held) { add(envelope); }
      held = [];
      pauseButton.textContent = 'Pause';
      refreshSummary();
      setStatus('live', 'badge-ok');
    } else {
      pauseButton.textContent = 'Resume';
      setStatus('paused', 'badge-warn');
    }
  });

  clearButton.addEventListener('click', function () {
    feed.replaceChildren();
    held = [];
    if (paused) { pauseButton.textContent = 'Resume'; }
    refreshSummary();
  });

  for (const input of Object.values(filters)) {
    input.addEventListener('input', applyFilters);
    input.addEventListener('change', applyFilters);
  }
  document.getElementById('activity-filters').addEventListener('submit', function (e) { e.preventDefault(); });

  // A click anywhere on a row opens its transaction; links inside keep their own target.
  feed.addEventListener('click', function (e) {
    if (e.target.closest('a')) { return; }
    const row = e.target.closest('.feed-row');
    if (row && row.dataset.transactionId) {
      window.location.href = '/transactions/' + encodeURIComponent(row.dataset.transactionId);
    }
  });

  refreshSummary();
  connect();
})();
