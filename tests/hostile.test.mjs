// Hostile and malformed input: bad hooks get a 4xx and shape no URL; bad upstream answers
// become recorded, retryable errors; the service never crashes nor answers 5xx to a hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startWorld, startService, addOrder, hook, api, waitFor, waitForState, sleep, HOOK_SECRET, omsOrder, nfeKey, serviceFixture } from './helpers.mjs';

let world;
let svc;
serviceFixture((w, s) => ([world, svc] = [w, s]));

function rawPost(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url}/hooks/oms`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'x-hook-secret': HOOK_SECRET, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve({ status: 'closed' }) : reject(e)));
    if (typeof body === 'function') body(req);
    else req.end(body);
  });
}

test('a corpus of bad hooks: each gets a 4xx, none a 5xx, and the service stays up', async () => {
  const deep = `{"OrderId":"BWW-1-01","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const corpus = [
    ['', 400],
    ['null', 400],
    ['"text"', 400],
    ['{"OrderId":null}', 400],
    ['{"OrderId":{}}', 400],
    ['{"OrderId":["BWW-1-01"]}', 400],
    ['{"OrderId":true}', 400],
    [deep, 400],
    ['{"OrderId":"BWW-1-01"', 400],
    ['{"OrderId":"BWW\\u0000-1-01"}', 400],
    ['{"OrderId":"BWW\\n1"}', 400],
    ['{"OrderId":"BWW-1-01/../../admin"}', 400],
    ['{"OrderId":".."}', 400],
    ['{"OrderId":"a?state=failed"}', 400],
    ['{"OrderId":"a%2Fb"}', 400],
    ['{"OrderId":"a#b"}', 400],
    ['{"OrderId":"pedido-ção-01"}', 400],
    ['{"OrderId":"😀"}', 400],
    ['{"OrderId":"' + 'x'.repeat(65) + '"}', 400],
  ];
  for (const [body, want] of corpus) {
    const r = await rawPost(svc.url, body, { 'content-type': 'application/json' });
    assert.equal(r.status, want, `${body.slice(0, 60)} → ${r.status} ${r.text}`);
    assert.ok(JSON.parse(r.text).error, body.slice(0, 60));
  }
  // unknown fields and odd types elsewhere are fine: only OrderId matters
  const odd = await rawPost(svc.url, JSON.stringify({ OrderId: 'BWW-777-01', State: 42, Domain: null, Origin: [1], extra: { a: 'b' } }));
  assert.equal(odd.status, 200);
  assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
});

test('10 MB bodies are refused with 413, declared or streamed', async () => {
  const ten = 'x'.repeat(10 * 1024 * 1024);
  const declared = await rawPost(svc.url, ten, { 'content-length': String(ten.length) });
  assert.ok(declared.status === 413 || declared.status === 'closed', String(declared.status));
  const streamed = await rawPost(svc.url, (req) => {
    req.setHeader('transfer-encoding', 'chunked');
    for (let i = 0; i < 160; i++) req.write('y'.repeat(64 * 1024));
    req.end();
  });
  assert.ok(streamed.status === 413 || streamed.status === 'closed', String(streamed.status));
  assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
});

test('no request went to a URL a hook shaped', async () => {
  await sleep(300);
  for (const e of world.oms.log) assert.match(e.path, /^\/api\/oms\/pvt\/orders\/[A-Za-z0-9_-]+$/);
  for (const e of world.skyhub.log) assert.match(e.path, /^\/(orders\/[^/]+(\/invoice)?|shipments\/b2w(\/(to_group|collectables|confirm_collection))?)$/);
});

test('bad OMS answers are recorded, retried, and the order completes once they are fixed', async () => {
  const { orderId, code } = addOrder(world, { n: 500 });
  const good = world.oms.orders.get(orderId);
  for (const body of ['{"orderId":"BWW-', '<html><body>Bad gateway</body></html>', JSON.stringify({ ...good, items: 'two' })]) {
    world.oms.faults.add(`/orders/${orderId}`, { status: 200, body, contentType: 'application/json' });
  }
  await hook(svc.url, orderId);
  const rec = await waitForState(svc.url, orderId, 'collection_requested', 30000);
  const notes = rec.history.map((h) => h.note).join('\n');
  assert.match(notes, /OMS order is not in the expected shape: EOF/);
  assert.match(notes, /expected value/);
  assert.match(notes, /invalid type: string "two"/);
  assert.equal(world.skyhub.stats.invoices.filter((i) => i.code === code).length, 1);
});

test('bad SkyHub answers are retried; a huge to_group listing is paged through', async () => {
  // 700 orders of the seller that b2w-coleta does not track, listed before ours
  for (let i = 0; i < 700; i++) {
    const code = `Submarino-${900000 + i}`;
    world.skyhub.addOrder(code, 'b2wentregadirect');
    Object.assign(world.skyhub.orders.get(code), { status: { code: 'order_invoiced' }, invoicedAt: 0 });
  }
  const { orderId } = addOrder(world, { n: 510 });
  world.skyhub.faults.add('GET /orders/', { status: 200, body: '<html>maintenance</html>', contentType: 'text/html' });
  world.skyhub.faults.add('GET /shipments/b2w/to_group', { status: 200, body: '{"orders":"none"}' });
  await hook(svc.url, orderId);
  const rec = await waitForState(svc.url, orderId, 'collection_requested', 40000);
  const notes = rec.history.map((h) => h.note).join('\n');
  assert.match(notes, /SkyHub order is not in the expected shape/);
  const pages = world.skyhub.log.filter((e) => e.path === '/shipments/b2w/to_group').map((e) => Number(new URLSearchParams(e.query).get('offset')));
  assert.ok(Math.max(...pages) >= 36, `read pages up to ${Math.max(...pages)}`);
});

test('SIGTERM under a backlog stops taking work and loses nothing', async () => {
  const w = await startWorld({ skyhub: { limits: { orders_get: 1, orders_list: 1, orders_write: 2, shipments_GET: 9, shipments_POST: 9 } } });
  const env = w.env({ SKYHUB_RATE_LIMITS: 'orders_write=2' });
  let s = await startService(env);
  try {
    const orders = Array.from({ length: 24 }, (_, i) => addOrder(w, { n: 600 + i }));
    for (const o of orders) await hook(s.url, o.orderId);
    await waitFor('a first invoice', () => w.skyhub.stats.invoices.length >= 1);
    const stopped = await s.stop('SIGTERM');
    assert.equal(stopped.code, 0, s.err);
    assert.match(s.out, /"msg":"stopped"/);
    const sentBefore = w.skyhub.stats.invoices.length;
    assert.ok(sentBefore < orders.length, 'the backlog was still there at the stop');
    s = await startService(env);
    for (const o of orders) await waitForState(s.url, o.orderId, 'collection_requested', 40000);
    const keys = w.skyhub.stats.invoices.map((i) => i.key);
    assert.equal(new Set(keys).size, keys.length, 'an invoice was sent twice');
    assert.equal(keys.length, orders.length);
  } finally {
    await s.stop();
    await w.close();
  }
});
