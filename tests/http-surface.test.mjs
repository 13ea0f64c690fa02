// The HTTP surface of CONTRACT.md: hook auth and bad input, health, metrics, the API's auth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, startService, startFailure, addOrder, hook, api, waitForState, HOOK_SECRET, ADMIN_TOKEN, serviceFixture } from './helpers.mjs';

let world;
let svc;
serviceFixture((w, s) => ([world, svc] = [w, s]));

const post = (body, headers = {}) =>
  fetch(`${svc.url}/hooks/oms`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

test('the hook ping answers 200 with and without the secret', async () => {
  for (const headers of [{}, { 'x-hook-secret': HOOK_SECRET }, { 'x-hook-secret': 'wrong' }]) {
    const r = await post('{"hookConfig":"ping"}', headers);
    assert.equal(r.status, 200);
  }
});

test('a notification without the right secret is refused with 401 and records nothing', async () => {
  const { orderId } = addOrder(world, { n: 1 });
  for (const secret of [null, 'wrong', `${HOOK_SECRET}x`, HOOK_SECRET.slice(1)]) {
    const r = await hook(svc.url, orderId, { secret });
    assert.equal(r.status, 401);
    assert.match(r.body.error, /X-Hook-Secret/);
  }
  assert.equal((await api(svc.url, `/api/orders/${orderId}`)).status, 404);
});

test('bad hook bodies get 400 with a JSON reason', async () => {
  const cases = [
    ['not json', /not JSON/],
    ['[]', /not a JSON object/],
    ['{"Domain":"Fulfillment"}', /OrderId is missing/],
    ['{"OrderId":42}', /must be a string/],
    ['{"OrderId":"../../etc/passwd"}', /not a VTEX order id/],
    ['{"OrderId":"a?b=c"}', /not a VTEX order id/],
    ['{"OrderId":""}', /not a VTEX order id/],
  ];
  for (const [body, reason] of cases) {
    const r = await post(body, { 'x-hook-secret': HOOK_SECRET });
    assert.equal(r.status, 400, body);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.match((await r.json()).error, reason, body);
  }
});

test('a body over 64 KiB gets 413', async () => {
  const big = JSON.stringify({ OrderId: 'BWW-1-01', pad: 'x'.repeat(70 * 1024) });
  const r = await post(big, { 'x-hook-secret': HOOK_SECRET });
  assert.equal(r.status, 413);
  const just = JSON.stringify({ OrderId: 'BWW-2-01', pad: 'x'.repeat(60 * 1024) });
  assert.equal((await post(just, { 'x-hook-secret': HOOK_SECRET })).status, 200);
});

test('a notification is recorded, whatever its State, and the order is read from OMS', async () => {
  const { orderId } = addOrder(world, { n: 3 });
  const r = await hook(svc.url, orderId, { state: 'payment-approved' });
  assert.equal(r.status, 200);
  assert.equal(r.body.orderId, orderId);
  const rec = await api(svc.url, `/api/orders/${orderId}`);
  assert.equal(rec.status, 200);
  await waitForState(svc.url, orderId, 'collection_requested');
});

test('health and metrics', async () => {
  const h = await fetch(`${svc.url}/healthz`);
  assert.equal(h.status, 200);
  const m = await fetch(`${svc.url}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /text\/plain/);
  const text = await m.text();
  assert.match(text, /^b2w_coleta_orders\{state="waiting_invoice"\} \d+$/m);
  assert.match(text, /^b2w_coleta_hooks_total\{outcome="unauthorized"\} [1-9]\d*$/m);
  assert.match(text, /^b2w_coleta_hooks_total\{outcome="bad_request"\} [1-9]\d*$/m);
  assert.match(text, /^b2w_coleta_due_orders \d+$/m);
  assert.match(text, /^b2w_coleta_oldest_due_age_seconds [\d.]+$/m);
  assert.match(text, /^b2w_coleta_hook_duration_seconds_count [1-9]\d*$/m);
  assert.match(text, /^# TYPE b2w_coleta_hook_duration_seconds histogram$/m);
});

test('the API needs the admin token; the admin page is served', async () => {
  for (const token of [null, 'wrong']) {
    const r = await api(svc.url, '/api/orders', { token });
    assert.equal(r.status, 401);
    assert.match(r.body.error, /ADMIN_TOKEN/);
  }
  const ok = await api(svc.url, '/api/orders?state=collection_requested&perPage=5');
  assert.equal(ok.status, 200);
  assert.ok(ok.body.orders.every((o) => o.state === 'collection_requested'));
  assert.equal((await api(svc.url, '/api/orders?state=nope')).status, 400);
  assert.equal((await api(svc.url, '/api/orders/BWW-404-01')).status, 404);
  assert.equal((await api(svc.url, '/api/orders/bad%2Fid')).status, 400);
  const page = await fetch(`${svc.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>b2w-coleta/);
  const unknown = await fetch(`${svc.url}/nope`);
  assert.equal(unknown.status, 404);
});

test('without ADMIN_TOKEN the API stays closed outside sandbox mode', async () => {
  const other = await startService(world.env({ ADMIN_TOKEN: '', DATABASE_URL: `sqlite:${world.dir}/closed.db` }));
  try {
    const r = await api(other.url, '/api/orders', { token: null });
    assert.equal(r.status, 401);
    assert.match(r.body.error, /ADMIN_TOKEN is not set/);
    assert.match(other.out, /ADMIN_TOKEN is not set/);
  } finally {
    await other.stop();
  }
});

test('list is newest first and paged', async () => {
  for (const n of [11, 12, 13]) {
    const { orderId } = addOrder(world, { n, kind: 'b2wentregacorreios' });
    await hook(svc.url, orderId);
  }
  for (const n of [11, 12, 13]) await waitForState(svc.url, `BWW-${1000000000 + n}-01`, 'invoiced');
  const byCode = await api(svc.url, `/api/orders?q=${encodeURIComponent('americanas-1000000012')}`);
  assert.deepEqual(byCode.body.orders.map((o) => o.orderId), ['BWW-1000000012-01']);
  const byId = await api(svc.url, '/api/orders?q=bww-100000001');
  assert.deepEqual(byId.body.orders.map((o) => o.orderId), ['BWW-1000000013-01', 'BWW-1000000012-01', 'BWW-1000000011-01']);
  assert.equal((await api(svc.url, '/api/orders?q=%25')).body.orders.length, 0, '% is matched literally');
  assert.equal(byId.body.counts.invoiced >= 3, true);
  assert.deepEqual(Object.keys(byId.body.counts).sort(), ['canceled', 'collection_pending', 'collection_requested', 'failed', 'ignored', 'invoice_pending', 'invoiced', 'waiting_invoice']);
  const p1 = await api(svc.url, '/api/orders?perPage=2&page=1');
  const p2 = await api(svc.url, '/api/orders?perPage=2&page=2');
  assert.deepEqual(p1.body.orders.map((o) => o.orderId), ['BWW-1000000013-01', 'BWW-1000000012-01']);
  assert.equal(p2.body.orders[0].orderId, 'BWW-1000000011-01');
});

test('start-up stops with one line naming a missing or malformed setting', async () => {
  const cases = [
    [{ HOOK_SECRET: '' }, /HOOK_SECRET is missing/],
    [{ SKYHUB_API_KEY: '' }, /SKYHUB_API_KEY is missing/],
    [{ PORT: 'eighty' }, /PORT must be a number/],
    [{ SKYHUB_RATE_LIMITS: 'orders_get=fast' }, /SKYHUB_RATE_LIMITS/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
  ];
  for (const [extra, want] of cases) {
    const r = await startFailure(world.env(extra));
    assert.equal(r.code, 1, JSON.stringify(extra));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], want);
    for (const secret of [HOOK_SECRET, ADMIN_TOKEN, world.skyhub.options.credentials.apiKey]) {
      assert.ok(!r.stderr.includes(secret));
    }
  }
});

test('secrets never reach the logs', async () => {
  const c = world.skyhub.options.credentials;
  for (const secret of [HOOK_SECRET, ADMIN_TOKEN, c.apiKey, c.accountManagerKey, world.oms.options.appToken]) {
    assert.ok(!svc.out.includes(secret), `a secret is in the logs`);
    assert.ok(!svc.err.includes(secret), `a secret is in stderr`);
  }
});
