// The host: configuration, the SQLite store, the HTTP server and the work timer around the
// WebAssembly core, which makes every decision. Start with `make run` or `make start`.
import http from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { Service, parseConfig } from './wasm.js';
import { openStore } from './store.js';
import { readBody, sendJson, BodyTooLarge } from './adapter.js';

const MAX_BODY = 64 * 1024;
const SHUTDOWN_GRACE_MS = 10_000;

function log(level, msg, extra = {}) {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...extra })}\n`);
}
function die(msg) {
  process.stderr.write(`b2w-coleta: ${msg}\n`);
  process.exit(1);
}

let env = { ...process.env };
let cfg;
try {
  cfg = parseConfig(env);
} catch (e) {
  die(e.message);
}

let sandbox = null;
let samples = [];
if (cfg.sandbox) {
  const mod = await import('./sandbox.js');
  sandbox = await mod.startSandbox();
  samples = mod.SAMPLES;
  // A fresh sandbox database each start, unless one is named: the simulators start fresh too.
  if (!process.env.DATABASE_URL) {
    env.DATABASE_URL = 'sqlite:data/sandbox.db';
    for (const f of ['', '-wal', '-shm']) rmSync(`data/sandbox.db${f}`, { force: true });
  }
  env = { ...env, ...sandbox.env };
  cfg = parseConfig(env);
}
for (const w of cfg.warnings) log('warn', w);

let store;
try {
  store = openStore(cfg.databaseUrl);
} catch (e) {
  die(`DATABASE_URL: cannot open ${cfg.databaseUrl}: ${e.message}`);
}
const service = new Service(env, store, (level, line) => process.stdout.write(`${line}\n`));
const adminPage = readFileSync(new URL('../public/index.html', import.meta.url));

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && (req.url === '/' || req.url.startsWith('/?'))) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': adminPage.length });
      return res.end(adminPage);
    }
    // The core's routes, without building web-standard Request/Response objects on this
    // hot path (the exported `fetch(Request)` serves hosts that have them natively).
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const h = req.headers;
    const reply = await service.handle(req.method, path, query, h.authorization, h['x-hook-secret'], await readBody(req, MAX_BODY));
    const body = typeof reply.body === 'string' ? reply.body : Buffer.from(reply.body);
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (e) {
    if (e instanceof BodyTooLarge) {
      res.setHeader('connection', 'close');
      return sendJson(res, 413, { error: `body over ${MAX_BODY} bytes` });
    }
    log('error', 'request failed', { method: req.method, path: req.url.split('?')[0], error: String(e?.message ?? e) });
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
  }
});

let stopping = false;
const wakers = new Set();
// One loop per lane: invoices and pickups never wait on each other.
async function workLoop(lane) {
  while (!stopping) {
    let claimed = 0;
    try {
      ({ claimed } = await service.tick(lane));
    } catch (e) {
      log('error', 'work tick failed', { lane, error: String(e?.message ?? e) });
    }
    if (stopping) break;
    if (claimed > 0) continue; // a backlog: straight on
    await new Promise((r) => {
      wakers.add(r);
      setTimeout(() => {
        wakers.delete(r);
        r();
      }, cfg.tickMs);
    });
  }
}

server.on('error', (e) => die(`cannot listen on ${cfg.host}:${cfg.port}: ${e.message}`));
server.listen(cfg.port, cfg.host, () => {
  const { port } = server.address();
  const base = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  log('info', 'listening', { url: base, sandbox: cfg.sandbox });
  if (sandbox) printSandboxHelp(base);
});
// Two passes of the orders lane overlap: while one sends its invoices, the next reads its
// orders from OMS, so the invoice budget never idles. Claims keep them apart.
// Reconciliation: finds the orders no hook brought (VTEX drops an idle hook configuration).
let reconcileTimer = null;
if (cfg.reconcileMs > 0) {
  const sweep = () =>
    service.reconcile(48).then(
      (r) => r.added > 0 && log('info', 'reconciliation found orders no hook brought', r),
      (e) => log('warn', 'reconciliation failed; it runs again later', { error: String(e?.message ?? e) }),
    );
  reconcileTimer = setInterval(sweep, cfg.reconcileMs);
  reconcileTimer.unref();
}
// The hook keeper: VTEX drops a hook configuration idle for three days.
let hookTimer = null;
function keepHook() {
  service.ensureHook().then(
    (r) => r.ok || log('warn', 'OMS hook not as expected', r),
    (e) => log('warn', 'OMS hook check failed; it runs again later', { error: String(e?.message ?? e) }),
  );
}
if (cfg.hookCheckMs > 0) {
  server.once('listening', keepHook); // VTEX pings the URL while saving: listen first
  hookTimer = setInterval(keepHook, cfg.hookCheckMs);
  hookTimer.unref();
}
const working = Promise.all([workLoop('orders'), workLoop('orders'), workLoop('collection')]);

async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log('info', 'shutting down', { signal });
  service.stop();
  clearInterval(reconcileTimer);
  clearInterval(hookTimer);
  for (const w of wakers) w();
  server.close();
  server.closeIdleConnections?.();
  const timer = setTimeout(() => {
    log('warn', 'in-flight work did not finish in time; its orders are resumed at the next start');
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  await working;
  clearTimeout(timer);
  store.close();
  await sandbox?.close();
  log('info', 'stopped');
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

function printSandboxHelp(base) {
  const secret = process.env.HOOK_SECRET ? ` -H 'X-Hook-Secret: ${'$HOOK_SECRET'}'` : '';
  const auth = process.env.ADMIN_TOKEN ? ` -H "Authorization: Bearer $ADMIN_TOKEN"` : '';
  const lines = [
    '',
    'Sandbox mode: no SkyHub credentials were given, so OMS and SkyHub simulators run in this process.',
    'Sample orders in the OMS simulator:',
    ...samples.map((s) => `  ${s.orderId.padEnd(22)} ${s.what}`),
    '',
    'Send a sample hook:',
    `  curl -s -X POST ${base}/hooks/oms -H 'Content-Type: application/json'${secret} -d '{"Domain":"Fulfillment","OrderId":"BWW-1517940500554-01","State":"invoiced"}'`,
    'Then watch the order reach collection_requested (a few seconds: SkyHub processes the invoice first):',
    `  curl -s ${base}/api/orders/BWW-1517940500554-01${auth}`,
    `Admin page: ${base}/`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
