// `make bench`: every figure of issue 3, side by side in one run, on loopback with the
// project's simulators. Writes bench/results.json and prints a table. Ratios are what count.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorld, startService, addOrder, api, sleep } from '../tests/helpers.mjs';
import { omsOrder, nfeKey, nfeXml } from '../node/sim/orders.js';
import { offer } from './loadgen.mjs';
import { SqliteStore } from '../node/src/store.js';

const only = process.argv.slice(2);
const want = (name) => only.length === 0 || only.includes(name);
const results = { date: new Date().toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30) }, figures: {} };
const fig = (name, value, target, how) => {
  results.figures[name] = { value, target, how };
  console.error(`${name}: ${value}`);
};

async function hookBench() {
  const RATE = 2000;
  const SECONDS = 20;
  // The floor first, then the service, each alone on the machine.
  const dir = mkdtempSync(join(tmpdir(), 'b2w-bench-'));
  const floor = spawn(process.execPath, [fileURLToPath(new URL('./floor.mjs', import.meta.url)), join(dir, 'floor.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((r) => floor.stdout.on('data', (d) => r(String(d).match(/listening (\d+)/)[1])));
  const body = (i) => JSON.stringify({ Domain: 'Fulfillment', OrderId: `GHB-${1000000 + i}-01`, State: 'invoiced', LastState: 'handling', LastChange: '2026-12-03T10:00:00Z', CurrentChange: '2026-12-03T10:00:01Z', Origin: { Account: 'bench', Key: 'vtexappkey-bench' } });
  await offer({ url: `http://127.0.0.1:${port}/hooks/oms`, rate: RATE, seconds: 2, body }); // warm-up
  const f = await offer({ url: `http://127.0.0.1:${port}/hooks/oms`, rate: RATE, seconds: SECONDS, body: (i) => body(i + 100000) });
  floor.kill('SIGTERM');

  const world = await startWorld({ oms: { fallback: (id) => omsOrder({ orderId: id, code: `X-${id}`, affiliateId: 'GHB', packages: [] }) } });
  const svc = await startService(world.env({ DATABASE_URL: `sqlite:${join(dir, 'svc.db')}` }));
  const url = `${svc.url}/hooks/oms`;
  const headers = { 'x-hook-secret': world.env().HOOK_SECRET };
  await offer({ url, rate: RATE, seconds: 2, body, headers });
  const s = await offer({ url, rate: RATE, seconds: SECONDS, body: (i) => body(i + 100000), headers });
  const metrics = await (await fetch(`${svc.url}/metrics`)).text();
  const recorded = Number(metrics.match(/b2w_coleta_hooks_total\{outcome="recorded"\} (\d+)/)?.[1] ?? 0);
  const rows = Number(metrics.match(/b2w_coleta_orders\{state="waiting_invoice"\} (\d+)/)[1]) + Number(metrics.match(/b2w_coleta_orders\{state="ignored"\} (\d+)/)[1]) + Number(metrics.match(/b2w_coleta_orders\{state="failed"\} (\d+)/)[1]);
  await svc.stop();
  await world.close();
  rmSync(dir, { recursive: true, force: true });
  const total = RATE * (SECONDS + 2);
  fig('hook_p99_ms', +s.p99.toFixed(2), '≤ 1.5 × hook_floor_p99_ms', `${RATE} hooks/s for ${SECONDS} s to POST /hooks/oms (open loop, keep-alive), after 2 s of warm-up`);
  fig('hook_floor_p99_ms', +f.p99.toFixed(2), null, 'the same load against bench/floor.mjs: Node http + one SQLite upsert per request, same pragmas');
  fig('hook_p99_ratio', +(s.p99 / f.p99).toFixed(2), '≤ 1.5', 'hook_p99_ms / hook_floor_p99_ms');
  fig('hook_p50_ms', +s.p50.toFixed(2), null, 'median of the same run');
  fig('hook_floor_p50_ms', +f.p50.toFixed(2), null, 'median of the floor run');
  fig('hook_errors', s.errors, '0', 'non-200 answers or failed connections');
  fig('hooks_recorded', `${recorded} of ${total} (${rows} orders stored)`, 'all', 'b2w_coleta_hooks_total{outcome="recorded"} after the run');
}

async function drainBench() {
  const N = 1000;
  const limits = { orders_get: 10, orders_list: 10, orders_write: 90, shipments_GET: 90, shipments_POST: 90 };
  const world = await startWorld({ skyhub: { limits, processingDelayMs: 200 } });
  for (let i = 0; i < N; i++) addOrder(world, { n: 50000 + i, kind: 'b2wentregadirect' });
  const svc = await startService(world.env({ SKYHUB_RATE_LIMITS: 'orders_get=10,orders_list=10,orders_write=90,shipments=90', OMS_RATE_LIMIT: '1000', COLLECTION_POLL_MS: '500', TICK_MS: '50' }));
  await sleep(1500); // the limiter's start-up window
  const t0 = Date.now();
  const ids = [...world.oms.orders.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(ids.slice(i, i + 100).map((id) => fetch(`${svc.url}/hooks/oms`, { method: 'POST', headers: { 'x-hook-secret': world.env().HOOK_SECRET, 'content-type': 'application/json' }, body: JSON.stringify({ OrderId: id }) })));
  }
  let done = 0;
  while (done < N && Date.now() - t0 < 300000) {
    const m = await (await fetch(`${svc.url}/metrics`)).text();
    done = Number(m.match(/b2w_coleta_orders\{state="collection_requested"\} (\d+)/)[1]);
    if (done < N) await sleep(100);
  }
  const last = Math.max(...world.skyhub.stats.confirms.map((c) => c.at));
  const drainS = (last - t0) / 1000;
  const bound = N / 90;
  const requests = world.skyhub.log.length;
  const byClass = {};
  for (const e of world.skyhub.log) {
    const k = `${e.method} ${e.path.startsWith('/orders/') ? (e.path.endsWith('/invoice') ? '/orders/{code}/invoice' : '/orders/{code}') : e.path}`;
    byClass[k] = (byClass[k] ?? 0) + 1;
  }
  await svc.stop();
  await world.close();
  fig('drain_s', +drainS.toFixed(2), null, `${N} invoiced Direct orders hooked at once; SkyHub limits and OMS_RATE_LIMIT ×10; COLLECTION_POLL_MS=500; first hook to last confirm_collection`);
  fig('drain_ratio', +(drainS / bound).toFixed(3), '≤ 1.10', `drain_s / (${N} invoices / 90 per s = ${bound.toFixed(2)} s)`);
  fig('skyhub_429', world.skyhub.stats.tooMany, '0', '429s the simulator answered for going over its limits');
  fig('requests_per_order', +(requests / N).toFixed(3), '≤ 1.3', `all SkyHub requests of the run / ${N}: ${JSON.stringify(byClass)}`);
  fig('orders_completed', `${done} of ${N}`, 'all', 'collection_requested at the end');
}

async function coreBench() {
  const { decideOrder } = await import('../node/src/wasm.js');
  const items = Array.from({ length: 10 }, () => 2);
  const bigXml = nfeXml(nfeKey(1)).replace('</infNFe>', `<det>${'<prod><cProd>123</cProd><xProd>Produto de teste</xProd></prod>'.repeat(110)}</det></infNFe>`);
  const packages = [0, 1, 2].map((p) => ({ key: nfeKey(p + 1), items: items.map((_, i) => [i, i % 3 === p ? 2 : 0]).filter(([, q]) => q), xml: bigXml }));
  const order = JSON.stringify(omsOrder({ orderId: 'BWW-1-01', code: 'Lojas Americanas-1-01', items, packages }));
  const check = JSON.parse(decideOrder(order, 'BWW'));
  if (check.decision !== 'ready' || check.keys.length !== 3) throw new Error(`bench order is not ready: ${JSON.stringify(check)}`);
  const time = (fn, n) => {
    for (let i = 0; i < 200; i++) fn();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n;
  };
  const N = 5000;
  const wasmUs = time(() => decideOrder(order, 'BWW'), N);
  const parseUs = time(() => JSON.parse(order), N);
  fig('core_us', +wasmUs.toFixed(1), null, `CPU µs per decideOrder (parse + decide in WebAssembly) on a ${(order.length / 1024).toFixed(1)} KB order: 10 items, 3 packages, ${(bigXml.length / 1024).toFixed(1)} KB NF-e XML each`);
  fig('json_parse_us', +parseUs.toFixed(1), null, 'CPU µs per JSON.parse of the same text');
  fig('core_ratio', +(wasmUs / parseUs).toFixed(2), '≤ 2.0', 'core_us / json_parse_us');
}

function wasmSize() {
  const wasm = readFileSync(new URL('../node/pkg/b2w_coleta_bg.wasm', import.meta.url));
  fig('wasm_bytes', wasm.length, null, 'node/pkg/b2w_coleta_bg.wasm as built by make build (release)');
  fig('wasm_gzip_bytes', gzipSync(wasm, { level: 9 }).length, '≤ 256000', 'the same, gzip -9');
}

async function coldStart() {
  const world = await startWorld();
  const runs = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, [fileURLToPath(new URL('../node/src/main.js', import.meta.url))], { env: { PATH: process.env.PATH, ...world.env({ PORT: String(18900 + i), DATABASE_URL: `sqlite:${world.dir}/cold${i}.db` }) }, stdio: 'ignore' });
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${18900 + i}/healthz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(2);
    }
    runs.push(performance.now() - t0);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
  await world.close();
  runs.sort((a, b) => a - b);
  fig('cold_start_ms', +runs[3].toFixed(1), '≤ 300', 'median of 7: process spawn to the first GET /healthz 200');
}

async function rss() {
  const world = await startWorld();
  const path = join(world.dir, 'rss.db');
  const store = new SqliteStore(path);
  const insert = store.db.prepare('INSERT INTO orders (order_id, state, next_at, created_at, updated_at, version, data) VALUES (?, ?, NULL, ?, ?, 1, ?)');
  const now = Date.now();
  const template = (id, i) => JSON.stringify({ orderId: id, skyhubCode: `Lojas Americanas-${id}`, state: 'collection_requested', delivery: 'direct', attempts: 0, lastError: null, history: [{ at: new Date(now).toISOString(), state: 'waiting_invoice', note: 'hook received' }, { at: new Date(now).toISOString(), state: 'collection_requested', note: 'pickup requested at SkyHub (B2W Coleta)' }], refresh: false, invoices: [{ key: nfeKey(i % 1000000), volumes: 1, status: 'sent' }], plpId: '98945320', grouped: true, confirming: false, failedStage: null, nextAt: null, lease: null, collectionSince: now, createdAt: now - i, updatedAt: now });
  store.db.transaction(() => {
    for (let i = 0; i < 100000; i++) {
      const id = `BWW-${2000000000 + i}-01`;
      insert.run(id, 'collection_requested', now - i, now, template(id, i));
    }
  })();
  store.close();
  const svc = await startService(world.env({ DATABASE_URL: `sqlite:${path}` }));
  for (let i = 0; i < 20; i++) {
    await api(svc.url, `/api/orders?page=${i + 1}&perPage=500`);
    await fetch(`${svc.url}/metrics`);
  }
  await sleep(1000);
  const status = readFileSync(`/proc/${svc.child.pid}/status`, 'utf8');
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)[1]);
  await svc.stop();
  await world.close();
  fig('rss_mb_100k', +(kb / 1024).toFixed(1), '≤ 120', '/proc VmRSS of the service with 100,000 orders stored, after 20 list pages of 500 and 20 /metrics');
}

if (want('core')) await coreBench();
if (want('size')) wasmSize();
if (want('cold')) await coldStart();
if (want('rss')) await rss();
if (want('drain')) await drainBench();
if (want('hook')) await hookBench();

writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log('| figure | value | target |\n| --- | --- | --- |');
for (const [k, v] of Object.entries(results.figures)) console.log(`| ${k} | ${v.value} | ${v.target ?? ''} |`);
