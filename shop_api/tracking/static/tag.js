/*! Mercado tag.js: clickstream events (v1) to /collect */
/*
 * Load it with a stub, so calls made before the script arrives are queued, not lost:
 *
 *   <script>
 *     window.mercado = window.mercado || function () { (mercado.q = mercado.q || []).push(arguments); };
 *     // Only when the shopper is logged in: the collector keeps user_id only when the request
 *     // carries that user's bearer token, so pass the page's access token along with it.
 *     mercado('config', { user_id: '6f1c...', access_token: '<bearer token>' });
 *     mercado('event', 'view_item_list', { list_id: 'home' }, [{ item_id: 'L1', price: 9.5 }]);
 *   </script>
 *   <script async src="/tag.js"></script>
 *
 * Commands:
 *   mercado('config', {...})   endpoint (default: <origin of this script>/collect, which
 *                              must be same-origin or allow CORS), user_id, access_token,
 *                              debug, send_page_view, honor_dnt, batch_size, flush_ms,
 *                              max_queue, cookie_domain
 *   mercado('event', name, params?, items?)   returns the event_id (send it to the API as
 *                              X-Event-Id when the API records the same action)
 *   mercado('get', 'client_id', callback?)     the device id (for the API's X-Client-Id);
 *                              null when Do Not Track / GPC is on
 *   mercado('flush')           send what is queued now
 *
 * Clicks on listed items are reported by markup: a click inside an element with
 * data-mercado-item-id, itself inside one with data-mercado-list-id, sends select_item with
 * that list_id (and data-mercado-list-name) and the item read from the item's
 * data-mercado-item-id, -item-name, -item-category, -price, -index and -seller-id. Render a
 * /recommendations (or /similar, /bought-together) response with its list_id there and each
 * item's position as the index: its clicks then carry the model version that served it.
 *
 * Delivery is at least once: every event carries a client-made event_id (the dedupe key),
 * events wait in localStorage until the collector took them, and failed sends are retried
 * with exponential backoff and jitter (network errors, 408, 429 and 5xx; Retry-After is
 * honoured). When the page is hidden or left, the queue goes out with navigator.sendBeacon
 * (or a keepalive fetch when there is an access token, as beacons cannot carry it).
 *
 * Privacy: the tag sends only what the Event v1 contract lists. Of the device it reads the
 * user agent and language, nothing else (no IP address, no fingerprinting); fetch sends the
 * collector no cookies. It sets two first-party cookies: mercado_cid (anonymous client id, 1 year) and mercado_sid
 * (session id and last activity, 30 minutes). Do Not Track and Global Privacy Control are
 * honoured by default: with either signal on, nothing is stored or sent. A shop that asks
 * for consent itself can pass honor_dnt: false once the shopper has agreed.
 *
 * Plain ES2017, no dependencies. The server strips comment lines and indentation, so keep
 * comments on lines of their own and write no multi-line strings.
 */
(() => {
  'use strict';
  const w = window;
  const d = document;
  const nav = navigator;
  const stub = w.mercado;
  // Loaded twice on one page: the first copy stays in charge.
  if (stub && stub.loaded) return;

  const SESSION_MS = 30 * 60 * 1000;
  const YEAR_S = 365 * 24 * 3600;
  // Keep each request under the 64 KB that sendBeacon and keepalive fetch allow in flight.
  const MAX_BODY = 60000;
  // localStorage key prefix; one key per unsent event, removed once the collector has it.
  const STORE = 'mercado:e:';
  const script = d.currentScript;

  const cfg = {
    endpoint: `${script && script.src ? new URL(script.src).origin : location.origin}/collect`,
    user_id: null,
    access_token: null,
    debug: false,
    send_page_view: true,
    honor_dnt: true,
    batch_size: 10,
    flush_ms: 1000,
    max_queue: 500,
    cookie_domain: null,
  };

  // Console output only with debug: true.
  const log = (...args) => cfg.debug && w.console && console.debug('[mercado]', ...args);
  const warn = (...args) => cfg.debug && w.console && console.warn('[mercado]', ...args);

  // UUID v4: crypto.randomUUID needs a secure context (https or localhost);
  // getRandomValues works on plain http too, in every browser that runs ES2017.
  const uuid = () => {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => (x + 0x100).toString(16).slice(1)).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  const getCookie = (name) => {
    const m = d.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
    return m ? decodeURIComponent(m[1]) : '';
  };
  const setCookie = (name, value, maxAge) => {
    d.cookie =
      `${name}=${encodeURIComponent(value)}; Max-Age=${maxAge}; Path=/; SameSite=Lax` +
      (cfg.cookie_domain ? `; Domain=${cfg.cookie_domain}` : '') +
      (location.protocol === 'https:' ? '; Secure' : '');
  };

  // The anonymous client id lives for a year after the last visit (the cookie is rewritten).
  let cid = '';
  const clientId = () => {
    if (!cid) {
      cid = getCookie('mercado_cid');
      if (!cid || cid.length > 64) cid = uuid();
      setCookie('mercado_cid', cid, YEAR_S);
    }
    return cid;
  };

  // The session cookie holds "<id>.<last activity ms>" and is shared by the shop's tabs; an
  // event after 30 minutes without any starts a new session. Every event touches it.
  const sessionId = () => {
    const now = Date.now();
    const parts = getCookie('mercado_sid').split('.');
    const sid = parts[0] && now - Number(parts[1]) < SESSION_MS ? parts[0] : uuid();
    setCookie('mercado_sid', `${sid}.${now}`, SESSION_MS / 1000);
    return sid;
  };

  // Cut strings to the collector's limits, so a long URL or title does not reject the event.
  const cut = (s, n) => (s ? String(s).slice(0, n) : null);
  const page = () => ({
    url: cut(location.href, 2048),
    referrer: cut(d.referrer, 2048),
    title: cut(d.title, 512),
  });
  const context = () => {
    const c = { user_agent: cut(nav.userAgent, 1024), locale: cut(nav.language, 35) };
    new URLSearchParams(location.search).forEach((value, key) => {
      if (/^utm_[a-z]+$/.test(key)) c[key] = cut(value, 256);
    });
    return c;
  };
  const optedOut = () =>
    cfg.honor_dnt &&
    (nav.doNotTrack === '1' || w.doNotTrack === '1' || nav.globalPrivacyControl === true);

  // Persistence: storage may be missing, full or forbidden; the tag then works from memory.
  const store = (() => {
    try {
      const s = w.localStorage;
      s.setItem(`${STORE}probe`, '1');
      s.removeItem(`${STORE}probe`);
      return s;
    } catch (e) {
      return null;
    }
  })();
  const save = (e) => {
    try {
      if (store) store.setItem(STORE + e.event_id, JSON.stringify(e));
    } catch (x) {
      warn('cannot persist event', x);
    }
  };
  const forget = (batch) => {
    if (store) batch.forEach((e) => store.removeItem(STORE + e.event_id));
  };
  // Events an earlier page left unsent, oldest first. Another open tab may still be sending
  // some of them: the duplicates share their event_id and are removed downstream.
  const restore = () => {
    const found = [];
    const broken = [];
    for (let i = 0; store && i < store.length; i++) {
      const key = store.key(i);
      if (key.indexOf(STORE) !== 0) continue;
      try {
        const e = JSON.parse(store.getItem(key));
        if (e && e.event_id) found.push(e);
        else broken.push(key);
      } catch (x) {
        broken.push(key);
      }
    }
    broken.forEach((key) => store.removeItem(key));
    return found.sort((a, b) => (a.event_time < b.event_time ? -1 : 1));
  };

  let queue = [];
  let size = cfg.batch_size;
  let inflight = false;
  let attempt = 0;
  let retryAt = 0;
  let timer = 0;
  let timerDue = 0;

  // The queue is bounded: the oldest events go first.
  const bound = () => {
    while (queue.length > cfg.max_queue) {
      const old = queue.shift();
      forget([old]);
      warn('queue full, dropped', old.event_name, old.event_id);
    }
  };

  const schedule = (ms) => {
    const due = Math.max(Date.now() + ms, retryAt);
    if (timer && timerDue <= due) return;
    clearTimeout(timer);
    timerDue = due;
    timer = setTimeout(() => {
      timer = 0;
      flush();
    }, due - Date.now());
  };

  // Exponential backoff with jitter: 0.5-1 s, 1-2 s, 2-4 s ... up to 5 minutes, and never
  // sooner than the collector's Retry-After (seconds or an HTTP date).
  const backoff = (retryAfter) => {
    attempt += 1;
    const exp = Math.min(300000, 1000 * 2 ** (attempt - 1));
    let ms = exp / 2 + (Math.random() * exp) / 2;
    if (retryAfter) {
      const s = Number(retryAfter);
      const hint = Number.isNaN(s) ? Date.parse(retryAfter) - Date.now() : s * 1000;
      if (hint > 0) ms = Math.max(ms, Math.min(hint, 3600000));
    }
    return ms;
  };

  // Cookies stay home: the collector needs none, and a token only when there is a user_id.
  // Small bodies use keepalive, so they are delivered even if the page goes meanwhile.
  const post = (blob) => {
    const headers = { 'Content-Type': 'application/json' };
    if (cfg.access_token) headers.Authorization = `Bearer ${cfg.access_token}`;
    const keepalive = blob.size < MAX_BODY;
    return fetch(cfg.endpoint, { method: 'POST', headers, body: blob, keepalive, credentials: 'omit' });
  };
  const pack = (batch) => new Blob([JSON.stringify({ events: batch })], { type: 'application/json' });

  // One request at a time, oldest events first.
  const flush = async () => {
    if (inflight || !queue.length) return;
    if (Date.now() < retryAt) return schedule(0);
    const batch = queue.splice(0, size);
    let retry = 0;
    inflight = true;
    try {
      const res = await post(pack(batch));
      if (res.ok) {
        forget(batch);
        attempt = 0;
        const answer = await res.json().catch(() => null);
        log('sent', batch.length, 'events', answer);
        if (answer && answer.rejected && answer.rejected.length) {
          warn('rejected (kept in events_bad/)', answer.rejected);
        }
      } else if (res.status === 413 && batch.length > 1) {
        // Too big for the collector: send smaller batches from now on.
        size = Math.max(1, batch.length >> 1);
        queue = batch.concat(queue);
      } else if (res.status === 408 || res.status === 429 || res.status >= 500) {
        retry = backoff(res.headers.get('Retry-After'));
      } else {
        // Any other 4xx will not get better by retrying.
        forget(batch);
        warn('collector refused the batch', res.status);
      }
    } catch (err) {
      // Offline, DNS, connection refused, CORS: all worth another try.
      retry = backoff(null);
    }
    inflight = false;
    if (retry) {
      queue = batch.concat(queue);
      bound();
      retryAt = Date.now() + retry;
      log('retrying in', Math.round(retry), 'ms');
    }
    if (queue.length) schedule(0);
  };

  // The page is being hidden or left: hand the whole queue to the browser, which delivers
  // beacons even after the page is gone. What cannot go stays in localStorage for next time.
  const flushOnExit = () => {
    if (Date.now() < retryAt) return;
    clearTimeout(timer);
    timer = 0;
    while (queue.length) {
      const batch = queue.splice(0, size);
      const blob = pack(batch);
      let sent = false;
      try {
        sent = !cfg.access_token && blob.size < MAX_BODY && nav.sendBeacon(cfg.endpoint, blob);
      } catch (e) {
        sent = false;
      }
      if (sent) {
        forget(batch);
        continue;
      }
      post(blob)
        .then((res) => {
          if (!res.ok) throw new Error(res.status);
          forget(batch);
        })
        .catch(() => {
          // Back in the queue (and still in localStorage) for the regular path.
          queue = batch.concat(queue);
          bound();
          schedule(cfg.flush_ms);
        });
    }
  };

  const track = (name, params, items) => {
    if (optedOut()) return log('Do Not Track / GPC is on: not sending', name);
    if (typeof name !== 'string' || !name) return warn('an event needs a name', name);
    const p = Object.assign({}, params);
    if (!items && Array.isArray(p.items)) {
      items = p.items;
      delete p.items;
    }
    const e = {
      event_id: uuid(),
      event_name: name,
      event_time: new Date().toISOString(),
      client_id: clientId(),
      session_id: sessionId(),
      page: page(),
      params: p,
      items: Array.isArray(items) ? items : [],
      context: context(),
    };
    if (cfg.user_id != null && cfg.user_id !== '') e.user_id = String(cfg.user_id);
    log('event', name, e);
    queue.push(e);
    save(e);
    bound();
    schedule(queue.length >= size ? 0 : cfg.flush_ms);
    return e.event_id;
  };

  const mercado = function (command, a, b, c) {
    // The tag must never break the shop page.
    try {
      if (command === 'config') {
        Object.assign(cfg, a);
        size = Math.max(1, cfg.batch_size | 0);
      } else if (command === 'event') {
        return track(a, b, c);
      } else if (command === 'get') {
        const value = a === 'client_id' && !optedOut() ? clientId() : null;
        if (typeof b === 'function') b(value);
        return value;
      } else if (command === 'flush') {
        flush();
      } else {
        warn('unknown command', command);
      }
    } catch (err) {
      warn(err);
    }
  };
  mercado.loaded = true;
  w.mercado = mercado;

  // Start-up: the page's queued config first (so the page_view has the user_id and the
  // endpoint), then events an earlier page left unsent, the page_view, the queued events.
  const pending = Array.from((stub && stub.q) || []);
  pending.filter((args) => args[0] === 'config').forEach((args) => mercado.apply(null, args));
  queue = restore();
  bound();
  if (queue.length) schedule(0);
  if (cfg.send_page_view) track('page_view');
  pending.filter((args) => args[0] !== 'config').forEach((args) => mercado.apply(null, args));

  // select_item for clicks on items of a marked-up list (see the header). Capture phase: the
  // event is queued before a link navigates away, and the exit flush sends it. Attributes
  // that are absent stay undefined, which JSON leaves out.
  const num = (v) => (v ? Number(v) : undefined);
  d.addEventListener(
    'click',
    (ev) => {
      const el = ev.target.closest && ev.target.closest('[data-mercado-item-id]');
      const list = el && el.closest('[data-mercado-list-id]');
      if (!list) return;
      const a = el.dataset;
      const l = list.dataset;
      mercado('event', 'select_item', { list_id: l.mercadoListId, list_name: l.mercadoListName }, [
        {
          item_id: a.mercadoItemId,
          item_name: a.mercadoItemName,
          item_category: a.mercadoItemCategory,
          price: num(a.mercadoPrice),
          index: num(a.mercadoIndex),
          seller_id: a.mercadoSellerId,
        },
      ]);
    },
    true
  );

  d.addEventListener('visibilitychange', () => {
    if (d.visibilityState === 'hidden') flushOnExit();
  });
  w.addEventListener('pagehide', flushOnExit);
  w.addEventListener('online', () => {
    retryAt = 0;
    schedule(0);
  });
})();
