// The chaos run: orders of every kind, SkyHub and OMS answering errors, slow answers and
// resets at random, and the service SIGKILLed at random moments and restarted on the same
// database. Reports orders lost, doubled effects and effects on ineligible orders.
//
//   node tests/chaos.mjs [--orders 500] [--kills 5] [--seed 1]      (make chaos)
import { startWorld, startService, addOrder, api, nfeKey, sleep } from './helpers.mjs';
import { rng } from '../node/sim/http.js';

const KINDS = [
  // [name, weight, how it is built, the state it must end in (null: no effect ever)]
  ['direct_single', 4, { kind: 'b2wentregadirect', items: [1] }, 'collection_requested'],
  ['direct_multi', 2, { kind: 'b2wentregadirect', items: [1, 2], split: true }, 'collection_requested'],
  ['correios', 2, { kind: 'b2wentregacorreios', items: [1] }, 'invoiced'],
  ['own', 1, { kind: null, items: [1] }, 'invoiced'],
  ['partial', 1, { kind: 'b2wentregadirect', items: [1, 1], partial: true }, null],
  ['return_only', 1, { kind: 'b2wentregadirect', items: [1], returnOnly: true }, null],
  ['not_b2w', 1, { kind: 'b2wentregadirect', items: [1], affiliateId: 'GHB' }, null],
  ['canceled', 1, { kind: 'b2wentregadirect', items: [1], status: 'canceled' }, null],
];

function build(world, n, spec) {
  let invoices;
  if (spec.split) invoices = [{ key: nfeKey(n), items: [[0, 1], [1, 1]] }, { key: nfeKey(n + 100000), items: [[1, 1]] }];
  else if (spec.partial) invoices = [{ key: nfeKey(n), items: [[0, 1]] }];
  else if (spec.returnOnly) invoices = [{ type: 'Input', key: nfeKey(n), items: [[0, 1]] }];
  return addOrder(world, { n, kind: spec.kind, items: spec.items, invoices, affiliateId: spec.affiliateId, status: spec.status });
}

export async function runChaos({ orders = 500, kills = 5, seed = 1, drainMs = 180000, log = () => {} } = {}) {
  const random = rng(seed);
  const world = await startWorld({
    skyhub: {
      // the documented limits scaled ×10, so that a run takes a minute, not ten
      limits: { orders_get: 10, orders_write: 90, shipments_GET: 90, shipments_POST: 90 },
      processingDelayMs: 300,
      chaos: { rates: { 500: 0.2, 429: 0.1, slow: 0.05, reset: 0.02 }, slowMs: 900, seed },
    },
    oms: { chaos: { rates: { 503: 0.1, 404: 0.03 }, seed: seed + 1 } },
  });
  const env = world.env({
    SKYHUB_RATE_LIMITS: 'orders_get=10,orders_write=90,shipments=90',
    HTTP_TIMEOUT_MS: '500',
    LEASE_MS: '1500',
    TICK_MS: '50',
    COLLECTION_POLL_MS: '300',
    RETRY_MAX_MS: '4000',
  });
  const total = KINDS.reduce((a, k) => a + k[1], 0);
  const made = [];
  for (let i = 0; i < orders; i++) {
    let r = random() * total;
    const k = KINDS.find((x) => (r -= x[1]) < 0) ?? KINDS[0];
    made.push({ ...build(world, 10000 + i, k[2]), kind: k[0], expect: k[3] });
  }

  const runs = [];
  let svc = await startService(env);
  runs.push(svc);
  const started = Date.now();
  let killed = 0;
  let hooksSent = 0;
  let hooksRetried = 0;
  // VTEX delivers at least once and retries until it gets a 200: so does this sender.
  async function deliver(orderId) {
    for (;;) {
      try {
        const r = await fetch(`${svc.url}/hooks/oms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hook-secret': env.HOOK_SECRET },
          body: JSON.stringify({ Domain: 'Fulfillment', OrderId: orderId, State: 'invoiced' }),
        });
        hooksSent += 1;
        if (r.status === 200) return;
      } catch {
        // the service is down: try again, as VTEX would
      }
      hooksRetried += 1;
      await sleep(100);
    }
  }
  const queue = made.flatMap((o) => Array.from({ length: 1 + Math.floor(random() * 3) }, () => o.orderId));
  queue.sort(() => random() - 0.5);
  const killAt = Array.from({ length: kills }, () => 1000 + Math.floor(random() * 20000)).sort((a, b) => a - b);

  const sending = (async () => {
    for (let i = 0; i < queue.length; i += 20) {
      await Promise.all(queue.slice(i, i + 20).map(deliver));
      await sleep(20);
    }
  })();
  for (const at of killAt) {
    await sleep(Math.max(0, started + at - Date.now()));
    await svc.stop('SIGKILL');
    killed += 1;
    log(`SIGKILL ${killed} at ${Date.now() - started} ms`);
    svc = await startService(env);
    runs.push(svc);
  }
  await sending;

  const eligible = made.filter((o) => o.expect);
  const deadline = Date.now() + drainMs;
  let pending = eligible;
  while (Date.now() < deadline && pending.length) {
    const states = await Promise.all(pending.map((o) => api(svc.url, `/api/orders/${o.orderId}`).then((r) => r.body.state)));
    pending = pending.filter((o, i) => states[i] !== o.expect);
    if (pending.length) await sleep(500);
  }
  const elapsedMs = Date.now() - started;
  const finals = {};
  for (const o of made) {
    const r = await api(svc.url, `/api/orders/${o.orderId}`);
    finals[o.orderId] = r.body.state;
  }
  await svc.stop();

  const s = world.skyhub.stats;
  const keyCounts = {};
  for (const inv of s.invoices) keyCounts[inv.key] = (keyCounts[inv.key] ?? 0) + 1;
  const confirmCounts = {};
  for (const c of s.confirms) for (const code of c.codes) confirmCounts[code] = (confirmCounts[code] ?? 0) + 1;
  const remote = (code) => code.slice(code.indexOf('-') + 1);
  const ineligible = made.filter((o) => !o.expect);
  const wrongful =
    s.invoices.filter((i) => ineligible.some((o) => o.code === i.code)).length +
    s.confirms.flatMap((c) => c.codes).filter((c) => ineligible.some((o) => remote(o.code) === c)).length +
    s.groups.flatMap((g) => g.codes).filter((c) => ineligible.some((o) => remote(o.code) === c)).length;
  const byKind = {};
  for (const o of made) byKind[o.kind] = (byKind[o.kind] ?? 0) + 1;
  const secrets = [env.HOOK_SECRET, env.ADMIN_TOKEN, env.SKYHUB_API_KEY, env.SKYHUB_ACCOUNT_MANAGER_KEY, env.VTEX_APP_TOKEN];
  const logs = runs.map((r) => r.out + r.err).join('\n');
  const figures = {
    orders: made.length,
    by_kind: byKind,
    eligible: eligible.length,
    lost: pending.length,
    duplicate_invoices: Object.values(keyCounts).filter((n) => n > 1).length,
    duplicate_pickups: Object.values(confirmCounts).filter((n) => n > 1).length,
    wrongful_effects: wrongful,
    ineligible_in_wrong_state: ineligible.filter((o) => ['invoiced', 'collection_requested', 'collection_pending'].includes(finals[o.orderId])).length,
    kills: killed,
    hooks_sent: hooksSent,
    hook_retries: hooksRetried,
    skyhub_requests: world.skyhub.log.length,
    skyhub_faults_injected: world.skyhub.faults.injected ?? 0,
    skyhub_429_from_limits: s.tooMany,
    oms_faults_injected: world.oms.faults.injected ?? 0,
    elapsed_ms: elapsedMs,
    log_lines: logs.split('\n').length,
    secrets_in_logs: secrets.filter((x) => logs.includes(x)).length,
    lost_orders: pending.map((o) => `${o.orderId} (${o.kind}): ${finals[o.orderId]}`),
  };
  await world.close();
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, d) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const figures = await runChaos({
    orders: arg('orders', 500),
    kills: arg('kills', 5),
    seed: arg('seed', 1),
    log: (m) => console.error(m),
  });
  console.log(JSON.stringify(figures, null, 2));
  const ok = figures.secrets_in_logs === 0 && figures.lost === 0 && figures.duplicate_invoices === 0 && figures.duplicate_pickups === 0 && figures.wrongful_effects === 0;
  console.log(ok ? 'chaos: 0 lost, 0 doubled, 0 wrongful' : 'chaos: FAILED');
  process.exit(ok ? 0 : 1);
}
