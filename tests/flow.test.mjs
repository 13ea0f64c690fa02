// The effects at SkyHub that CONTRACT.md promises, one kind of order at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, startService, addOrder, hook, api, waitForState, sleep, nfeKey, omsOrder,
  invoicesFor, confirmsFor, groupsFor, ADMIN_TOKEN, serviceFixture
} from './helpers.mjs';

let world;
let svc;
serviceFixture((w, s) => ([world, svc] = [w, s]));

test('Direct, one item: NF-e XML sent once, grouped into a PLP, pickup requested once', async () => {
  const { orderId, code } = addOrder(world, { n: 100, items: [1] });
  assert.equal((await hook(svc.url, orderId)).status, 200);
  const rec = await waitForState(svc.url, orderId, 'collection_requested');
  assert.equal(rec.skyhubCode, code);
  assert.equal(rec.delivery, 'direct');
  assert.match(rec.plpId, /^\d+$/);
  const inv = invoicesFor(world, code);
  assert.equal(inv.length, 1);
  assert.equal(inv[0].key, nfeKey(100));
  assert.equal(inv[0].multipart, true, 'Direct with XML goes as multipart');
  assert.equal(inv[0].xml, true);
  assert.equal(inv[0].volumeQty, '1');
  assert.equal(groupsFor(world, code).length, 1);
  assert.equal(confirmsFor(world, code).length, 1);
  // the code with a space reached SkyHub URL-encoded, and decoded to the same code
  assert.ok(world.skyhub.log.some((e) => e.path === `/orders/${code}/invoice`));
  const states = rec.history.map((h) => h.state);
  assert.deepEqual([...new Set(states)], ['waiting_invoice', 'invoice_pending', 'collection_pending', 'collection_requested']);
});

test('several items: waits for the last partial invoice, then sends each key once', async () => {
  const n = 110;
  const { orderId, code } = addOrder(world, { n, items: [1, 2], invoices: [{ key: nfeKey(n), items: [[0, 1]] }] });
  await hook(svc.url, orderId);
  let rec = await waitForState(svc.url, orderId, 'waiting_invoice');
  await sleep(300);
  rec = (await api(svc.url, `/api/orders/${orderId}`)).body;
  assert.equal(rec.state, 'waiting_invoice');
  assert.match(rec.history.at(-1).note, /1 of 3 units invoiced/);
  assert.equal(invoicesFor(world, code).length, 0);

  // second partial invoice: one of the two units of item 1
  const second = [{ key: nfeKey(n), items: [[0, 1]] }, { key: nfeKey(n + 1), items: [[1, 1]] }];
  world.oms.setOrder(omsOrder({ orderId, code, items: [1, 2], packages: second }));
  await hook(svc.url, orderId);
  await waitFor(() => api(svc.url, `/api/orders/${orderId}`).then((r) => /2 of 3/.test(r.body.history.at(-1).note)));
  assert.equal(invoicesFor(world, code).length, 0);

  // the last unit, on a third invoice
  const third = [...second, { key: nfeKey(n + 2), items: [[1, 1]] }];
  world.oms.setOrder(omsOrder({ orderId, code, items: [1, 2], packages: third }));
  await hook(svc.url, orderId);
  await waitForState(svc.url, orderId, 'collection_requested');
  assert.deepEqual(invoicesFor(world, code).map((i) => i.key).sort(), [nfeKey(n), nfeKey(n + 1), nfeKey(n + 2)].sort());
  assert.equal(confirmsFor(world, code).length, 1);
});

async function waitFor(fn, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error('timed out');
}

test('a return (Input) package does not count as invoicing', async () => {
  const n = 120;
  const { orderId, code } = addOrder(world, { n, items: [1], invoices: [{ type: 'Input', key: nfeKey(n), items: [[0, 1]] }] });
  await hook(svc.url, orderId);
  const rec = await waitForState(svc.url, orderId, 'waiting_invoice');
  await sleep(300);
  assert.equal((await api(svc.url, `/api/orders/${orderId}`)).body.state, 'waiting_invoice');
  assert.match(rec.history.at(-1).note + (await api(svc.url, `/api/orders/${orderId}`)).body.history.at(-1).note, /0 of 1/);
  assert.equal(invoicesFor(world, code).length, 0);
});

test('Correios and own logistics end at invoiced: JSON key, no PLP, no pickup', async () => {
  for (const [n, kind, delivery] of [[130, 'b2wentregacorreios', 'correios'], [131, null, 'own']]) {
    const { orderId, code } = addOrder(world, { n, kind });
    await hook(svc.url, orderId);
    const rec = await waitForState(svc.url, orderId, 'invoiced');
    assert.equal(rec.delivery, delivery);
    const inv = invoicesFor(world, code);
    assert.equal(inv.length, 1);
    assert.equal(inv[0].multipart, false);
    assert.equal(inv[0].status, 'order_invoiced');
    assert.equal(inv[0].volumeQty, undefined);
    await sleep(500);
    assert.equal(groupsFor(world, code).length, 0);
    assert.equal(confirmsFor(world, code).length, 0);
  }
});

test('not B2W, canceled and invalid keys: nothing reaches SkyHub', async () => {
  const before = world.skyhub.log.length;
  const other = addOrder(world, { n: 140, affiliateId: 'GHB' });
  const canceled = addOrder(world, { n: 141, status: 'canceled' });
  const badKey = nfeKey(142).slice(0, 43) + ((Number(nfeKey(142)[43]) + 1) % 10);
  const invalid = addOrder(world, { n: 142, invoices: [{ key: badKey, items: [[0, 1]] }] });
  const cfe = addOrder(world, { n: 143, invoices: [{ key: 'CFe35201100063960001504590006629690333214542150', items: [[0, 1]] }] });
  for (const o of [other, canceled, invalid, cfe]) await hook(svc.url, o.orderId);
  const ign = await waitForState(svc.url, other.orderId, 'ignored');
  assert.match(ign.history.at(-1).note, /GHB/);
  await waitForState(svc.url, canceled.orderId, 'canceled');
  const f = await waitForState(svc.url, invalid.orderId, 'failed');
  assert.match(f.lastError, new RegExp(`${invalid.orderId}.*check digit`));
  const f2 = await waitForState(svc.url, cfe.orderId, 'failed');
  assert.match(f2.lastError, /not an NF-e access key/);
  await sleep(300);
  const touched = world.skyhub.log.slice(before).filter((e) =>
    [other, canceled, invalid, cfe].some((o) => e.path.includes(o.code)));
  assert.deepEqual(touched, []);
});

test('duplicate and concurrent hooks: one invoice, one pickup request', async () => {
  const { orderId, code } = addOrder(world, { n: 150 });
  const replies = await Promise.all(Array.from({ length: 20 }, () => hook(svc.url, orderId)));
  assert.ok(replies.every((r) => r.status === 200));
  await waitForState(svc.url, orderId, 'collection_requested');
  for (let i = 0; i < 5; i++) await hook(svc.url, orderId);
  await sleep(500);
  assert.equal(invoicesFor(world, code).length, 1);
  assert.equal(groupsFor(world, code).length, 1);
  assert.equal(confirmsFor(world, code).length, 1);
});

test('PLPs are listed and their labels come as the PDF SkyHub renders', async () => {
  const { orderId, code } = addOrder(world, { n: 170 });
  await hook(svc.url, orderId);
  const rec = await waitForState(svc.url, orderId, 'collection_requested');
  const list = await api(svc.url, '/api/plps');
  assert.equal(list.status, 200);
  const plp = list.body.plps.find((p) => p.id === rec.plpId);
  assert.ok(plp, JSON.stringify(list.body));
  assert.equal(plp.type, 'DIRECT');
  const r = await fetch(`${svc.url}/api/plps/${rec.plpId}/labels`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/pdf');
  const pdf = Buffer.from(await r.arrayBuffer());
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok(pdf.includes(Buffer.from([0, 255, 128, 10])), 'binary bytes survived the trip');
  const view = world.skyhub.log.find((e) => e.path === '/shipments/b2w/view');
  assert.equal(new URLSearchParams(view.query).get('plp_id'), rec.plpId);
  assert.equal((await api(svc.url, '/api/plps/999999/labels')).status, 404);
  assert.equal((await api(svc.url, '/api/plps/12a/labels')).status, 400);
  assert.equal((await fetch(`${svc.url}/api/plps/${rec.plpId}/labels`)).status, 401);
  assert.ok(code);
});

test('the new -NN code and a code without a channel prefix', async () => {
  const a = addOrder(world, { n: 160, code: 'Shoptime-1517940500554-02' });
  const b = addOrder(world, { n: 161, code: '266580617301' });
  await hook(svc.url, a.orderId);
  await hook(svc.url, b.orderId);
  await waitForState(svc.url, a.orderId, 'collection_requested');
  await waitForState(svc.url, b.orderId, 'collection_requested');
  assert.deepEqual(world.skyhub.stats.confirms.flatMap((c) => c.codes).filter((c) => ['1517940500554-02', '266580617301'].includes(c)).sort(), ['1517940500554-02', '266580617301']);
});

test('every SkyHub request carried the credentials, and no class went over its limit', () => {
  assert.equal(world.skyhub.stats.unauthorized, 0);
  assert.equal(world.skyhub.stats.tooMany, 0);
  assert.ok(world.skyhub.peakPerWindow('orders_get') <= 1);
  assert.ok(world.skyhub.peakPerWindow('orders_write') <= 9);
});
