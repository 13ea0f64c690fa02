// The operator's CLI (node/bin/b2w-coleta.js) against the running service and the OMS simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { startWorld, startService, addOrder, hook, waitFor, waitForState, HOOK_SECRET, ADMIN_TOKEN, serviceFixture } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../node/bin/b2w-coleta.js', import.meta.url));
let world;
let svc;
serviceFixture((w, s) => ([world, svc] = [w, s]));

function cli(args, extraEnv = {}) {
  const env = {
    PATH: process.env.PATH,
    B2W_COLETA_URL: svc.url,
    ADMIN_TOKEN,
    VTEX_BASE_URL: world.oms.url,
    VTEX_APP_KEY: world.oms.options.appKey,
    VTEX_APP_TOKEN: world.oms.options.appToken,
    HOOK_SECRET,
    HOOK_URL: `${svc.url}/hooks/oms`,
    ...extraEnv,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('help and usage errors', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /b2w-coleta status ORDER/);
  for (const cmd of ['status', 'retry', 'hook']) {
    const r = await cli([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.out, /^Usage: b2w-coleta/);
  }
  assert.equal((await cli([])).code, 2);
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command frobnicate/);
  assert.equal((await cli(['status'])).code, 2);
});

test('status shows where an order stands; an unknown order exits 3', async () => {
  const { orderId, code } = addOrder(world, { n: 700 });
  await hook(svc.url, orderId);
  await waitForState(svc.url, orderId, 'collection_requested');
  const r = await cli(['status', orderId]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`^${orderId}: collection_requested`));
  assert.match(r.out, new RegExp(`SkyHub code  ${code}`));
  assert.match(r.out, /pickup requested at SkyHub/);
  const missing = await cli(['status', 'BWW-404-01']);
  assert.equal(missing.code, 3);
  assert.match(missing.err, /no order BWW-404-01/);
  const denied = await cli(['status', orderId], { ADMIN_TOKEN: 'wrong' });
  assert.equal(denied.code, 1);
  assert.match(denied.err, /refused the admin token/);
  const down = await cli(['status', orderId], { B2W_COLETA_URL: 'http://127.0.0.1:9' });
  assert.equal(down.code, 1);
  assert.match(down.err, /cannot reach/);
});

test('retry puts a failed order back; anything else is refused', async () => {
  const { orderId, code } = addOrder(world, { n: 710 });
  world.skyhub.orders.get(code).status = { code: 'order_canceled', type: 'CANCELED', label: 'Cancelado (SkyHub)' };
  await hook(svc.url, orderId);
  await waitForState(svc.url, orderId, 'failed');
  world.skyhub.orders.get(code).status = { code: 'payment_received', type: 'APPROVED', label: 'Aprovado (SkyHub)' };
  const r = await cli(['retry', orderId]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /back in the queue as invoice_pending/);
  await waitForState(svc.url, orderId, 'collection_requested');
  const again = await cli(['retry', orderId]);
  assert.equal(again.code, 1);
  assert.match(again.err, /only failed orders can be retried/);
});

test('reconcile and replay record the invoiced orders no hook brought', async () => {
  const missed = [addOrder(world, { n: 720, status: 'invoiced' }), addOrder(world, { n: 721, status: 'invoiced', kind: 'b2wentregacorreios' })];
  addOrder(world, { n: 722, status: 'handling' }); // not invoiced yet: not listed
  const r = await cli(['reconcile']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /2 new, now in the queue/);
  await waitForState(svc.url, missed[0].orderId, 'collection_requested');
  await waitForState(svc.url, missed[1].orderId, 'invoiced');
  const again = await cli(['replay', '--since', new Date(Date.now() - 3_600_000).toISOString()]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /; 0 new/);
  assert.match(again.err, /\[#{30}\] 0 order\(s\) still due/);
  assert.match(again.out, /the queue is empty/);
  assert.equal((await cli(['replay', '--since', 'yesterday-ish'])).code, 2);
  assert.equal((await cli(['reconcile', '--hours', '0'])).code, 2);
  world.oms.faults.add('GET /api/oms/pvt/orders', { status: 503, body: 'down' });
  const down = await cli(['reconcile']);
  assert.equal(down.code, 1);
  assert.match(down.err, /OMS answered 503/);
});

test('the keeper configures the hook at start when HOOK_URL is set', async () => {
  const w = await startWorld();
  const port = await new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const url = `http://127.0.0.1:${port}/hooks/oms`;
  const s = await startService(w.env({ PORT: String(port), HOOK_URL: url }));
  try {
    await waitFor('the keeper to configure the hook', () => w.oms.hookState.config?.hook?.url === url);
    assert.equal(w.oms.hookState.config.hook.headers['X-Hook-Secret'], HOOK_SECRET);
    assert.match(s.out, /OMS hook missing or stale/);
  } finally {
    await s.stop();
    await w.close();
  }
});

test('hook setup configures VTEX (which pings the service) and hook check verifies it', async () => {
  assert.equal(world.oms.hookState.config, null);
  const none = await cli(['hook', 'check']);
  assert.equal(none.code, 1);
  assert.match(none.err, /no hook configured/);
  const setup = await cli(['hook', 'setup']);
  assert.equal(setup.code, 0, setup.err);
  const cfg = world.oms.hookState.config;
  assert.deepEqual(cfg.filter, { type: 'FromWorkflow', status: ['invoiced'] });
  assert.equal(cfg.hook.url, `${svc.url}/hooks/oms`);
  assert.equal(cfg.hook.headers['X-Hook-Secret'], HOOK_SECRET);
  assert.equal((await cli(['hook', 'check'])).code, 0);
  const partial = await cli(['hook', 'setup', '--partial']);
  assert.equal(partial.code, 0, partial.err);
  assert.equal(world.oms.hookState.config.filter.type, 'FromOrders');
  world.oms.hookState.config.hook.headers['X-Hook-Secret'] = 'an-old-secret';
  const stale = await cli(['hook', 'check']);
  assert.equal(stale.code, 1);
  assert.match(stale.err, /does not send the current HOOK_SECRET/);
  const elsewhere = await cli(['hook', 'check', '--url', 'https://coleta.example/hooks/oms']);
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.err, /points at http/);
  const unreachable = await cli(['hook', 'setup', '--url', 'http://127.0.0.1:9/hooks/oms']);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.err, /VTEX refused the hook \(400\): Unable to check address/);
  const noUrl = await cli(['hook', 'check'], { HOOK_URL: '' });
  assert.equal(noUrl.code, 1);
  assert.match(noUrl.err, /HOOK_URL/);
});
