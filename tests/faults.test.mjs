// Retries, refusals, rate limits, restarts and crashes, observed at the simulators.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, startService, addOrder, hook, api, waitFor, waitForState, sleep,
  invoicesFor, confirmsFor, groupsFor, nfeKey,
} from './helpers.mjs';

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

test('429 and 5xx from SkyHub are retried with backoff; the invoice goes once', async () => {
  const svc = await startService(world.env());
  try {
    const { orderId, code } = addOrder(world, { n: 200 });
    world.skyhub.faults.add(`POST /orders/${code}/invoice`, { status: 429, body: '{"error":"Too many requests"}' });
    world.skyhub.faults.add(`POST /orders/${code}/invoice`, { status: 503, contentType: 'text/html', body: '<html>503 Service Unavailable</html>' });
    world.skyhub.faults.add('GET /shipments/b2w/to_group', { status: 502, body: '<html>502 Bad Gateway</html>', contentType: 'text/html' });
    world.skyhub.faults.add('POST /shipments/b2w/confirm_collection', { status: 500, body: '{"error":"Erro interno"}' });
    await hook(svc.url, orderId);
    const rec = await waitForState(svc.url, orderId, 'collection_requested', 30000);
    assert.equal(invoicesFor(world, code).length, 1);
    assert.equal(confirmsFor(world, code).length, 1);
    const notes = rec.history.map((h) => h.note).join('\n');
    assert.match(notes, /rate limit \(429\)/);
    assert.match(notes, /answered 503: <html>503 Service Unavailable<\/html>/);
    // a failed listing page is asked again within the same scan
    assert.ok(world.skyhub.log.some((e) => e.path === '/shipments/b2w/to_group' && e.status === 502));
    assert.match(notes, /answered 500: Erro interno/);
    assert.equal(rec.lastError, null);
  } finally {
    await svc.stop();
  }
});

test('another 4xx stops the order as failed with SkyHub message; retry puts it back', async () => {
  const svc = await startService(world.env());
  try {
    const { orderId, code } = addOrder(world, { n: 210 });
    world.skyhub.orders.get(code).status = { code: 'order_canceled', type: 'CANCELED', label: 'Cancelado (SkyHub)' };
    await hook(svc.url, orderId);
    const f = await waitForState(svc.url, orderId, 'failed');
    assert.match(f.lastError, /SkyHub answered 422: Transição de status inválida/);
    assert.match(f.lastError, new RegExp(code));
    assert.equal(invoicesFor(world, code).length, 0);
    // more hooks do not reopen a SkyHub refusal; the operator's retry does
    await hook(svc.url, orderId);
    await sleep(300);
    assert.equal((await api(svc.url, `/api/orders/${orderId}`)).body.state, 'failed');
    const notFailed = addOrder(world, { n: 211, kind: 'b2wentregacorreios' });
    await hook(svc.url, notFailed.orderId);
    await waitForState(svc.url, notFailed.orderId, 'invoiced');
    const conflict = await api(svc.url, `/api/orders/${notFailed.orderId}/retry`, { method: 'POST' });
    assert.equal(conflict.status, 409);
    assert.equal((await api(svc.url, '/api/orders/BWW-999-01/retry', { method: 'POST' })).status, 404);

    world.skyhub.orders.get(code).status = { code: 'payment_received', type: 'APPROVED', label: 'Aprovado (SkyHub)' };
    const r = await api(svc.url, `/api/orders/${orderId}/retry`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'invoice_pending');
    await waitForState(svc.url, orderId, 'collection_requested');
    assert.equal(invoicesFor(world, code).length, 1);
  } finally {
    await svc.stop();
  }
});

test('OMS 503 and timeouts are retried; an OMS 404 fails and a later hook reads again', async () => {
  const svc = await startService(world.env({ HTTP_TIMEOUT_MS: '300' }));
  try {
    const { orderId, code } = addOrder(world, { n: 220 });
    world.oms.faults.add(`/orders/${orderId}`, { status: 503, body: 'Service Unavailable', contentType: 'text/plain' });
    world.oms.faults.add(`/orders/${orderId}`, { delayMs: 1000 }); // past the client timeout
    await hook(svc.url, orderId);
    const rec = await waitForState(svc.url, orderId, 'collection_requested', 30000);
    const notes = rec.history.map((h) => h.note).join('\n');
    assert.match(notes, /OMS answered 503/);
    assert.match(notes, /timed out/);
    assert.equal(invoicesFor(world, code).length, 1);

    const missing = 'BWW-1000000229-01';
    await hook(svc.url, missing);
    const f = await waitForState(svc.url, missing, 'failed');
    assert.match(f.lastError, /OMS has no order BWW-1000000229-01 \(404\)/);
    addOrder(world, { n: 229, kind: 'b2wentregacorreios' });
    await hook(svc.url, missing);
    await waitForState(svc.url, missing, 'invoiced');
  } finally {
    await svc.stop();
  }
});

test('a backlog stays within SKYHUB_RATE_LIMITS as SkyHub counts them: no 429', async () => {
  const limits = { orders_get: 3, orders_write: 4, shipments_GET: 4, shipments_POST: 4 };
  const w = await startWorld({ skyhub: { limits, processingDelayMs: 100 } });
  const svc = await startService(w.env({ SKYHUB_RATE_LIMITS: 'orders_get=3,orders_write=4,shipments=4' }));
  try {
    const orders = Array.from({ length: 16 }, (_, i) => {
      const n = 300 + i;
      const kind = i % 4 === 0 ? 'b2wentregacorreios' : 'b2wentregadirect';
      const partial = i % 3 === 0;
      const o = addOrder(w, { n, kind, items: partial ? [1, 1] : [1], invoices: partial ? [{ key: nfeKey(n), items: [[0, 1]] }] : undefined });
      return { ...o, expect: partial ? 'waiting_invoice' : kind === 'b2wentregacorreios' ? 'invoiced' : 'collection_requested' };
    });
    await Promise.all(orders.map((o) => hook(svc.url, o.orderId)));
    for (const o of orders) await waitForState(svc.url, o.orderId, o.expect, 40000);
    assert.equal(w.skyhub.stats.tooMany, 0, 'SkyHub answered 429');
    assert.ok(w.skyhub.peakPerWindow('orders_get') <= 3);
    assert.ok(w.skyhub.peakPerWindow('orders_write') <= 4);
    assert.ok(w.skyhub.peakPerWindow('shipments_GET') <= 4);
    assert.ok(w.skyhub.peakPerWindow('shipments_POST') <= 4);
  } finally {
    await svc.stop();
    await w.close();
  }
});

test('SIGKILL while an invoice is in flight, restart on the same database: sent once, completed', async () => {
  const env = world.env();
  let svc = await startService(env);
  const { orderId, code } = addOrder(world, { n: 240 });
  // SkyHub holds the invoice request, then processes it after the service is gone.
  world.skyhub.faults.add(`POST /orders/${code}/invoice`, { delayMs: 800 });
  await hook(svc.url, orderId);
  await waitFor('the invoice request to arrive', () => world.skyhub.log.some((e) => e.path === `/orders/${code}/invoice`));
  await svc.stop('SIGKILL');
  await waitFor('SkyHub to process the invoice', () => invoicesFor(world, code).length === 1);

  svc = await startService(env);
  try {
    const rec = await waitForState(svc.url, orderId, 'collection_requested', 30000);
    assert.equal(invoicesFor(world, code).length, 1, 'the invoice was sent twice');
    assert.equal(confirmsFor(world, code).length, 1);
    assert.match(rec.history.map((h) => h.note).join('\n'), /invoices whose answer was lost/);
  } finally {
    await svc.stop();
  }
});

test('SIGKILL between grouping and the pickup request: one PLP, one request', async () => {
  const env = world.env();
  let svc = await startService(env);
  const { orderId, code } = addOrder(world, { n: 250 });
  world.skyhub.faults.add('POST /shipments/b2w/confirm_collection', { delayMs: 800 });
  const seen = world.skyhub.log.length;
  await hook(svc.url, orderId);
  await waitFor('the pickup request to arrive', () =>
    world.skyhub.log.slice(seen).some((e) => e.path === '/shipments/b2w/confirm_collection'));
  await svc.stop('SIGKILL');
  await waitFor('SkyHub to take the pickup request', () => confirmsFor(world, code).length === 1);
  svc = await startService(env);
  try {
    await waitForState(svc.url, orderId, 'collection_requested', 30000);
    await sleep(500);
    assert.equal(groupsFor(world, code).length, 1);
    assert.equal(confirmsFor(world, code).length, 1);
  } finally {
    await svc.stop();
  }
});

test('an acknowledged hook survives a restart; SIGTERM stops cleanly', async () => {
  const env = world.env({ TICK_MS: '60000' }); // no work before the stop
  let svc = await startService(env);
  const { orderId, code } = addOrder(world, { n: 260 });
  assert.equal((await hook(svc.url, orderId)).status, 200);
  const stopped = await svc.stop('SIGTERM');
  assert.equal(stopped.code, 0);
  assert.match(svc.out, /"msg":"stopped"/);
  svc = await startService(world.env());
  try {
    await waitForState(svc.url, orderId, 'collection_requested');
    assert.equal(invoicesFor(world, code).length, 1);
  } finally {
    await svc.stop();
  }
});
