// Shared by the black-box tests: the simulators on loopback, the built service as a child
// process, and small HTTP helpers.
import { before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOms } from '../node/sim/oms.js';
import { startSkyhub } from '../node/sim/skyhub.js';
import { omsOrder, nfeKey } from '../node/sim/orders.js';

export { omsOrder, nfeKey };

const MAIN = fileURLToPath(new URL('../node/src/main.js', import.meta.url));
export const HOOK_SECRET = 'test-hook-secret-7f3a';
export const ADMIN_TOKEN = 'test-admin-token-91c2';

export async function startWorld({ skyhub = {}, oms = {} } = {}) {
  const o = await startOms(oms);
  const s = await startSkyhub({ processingDelayMs: 300, ...skyhub });
  const dir = mkdtempSync(join(tmpdir(), 'b2w-coleta-'));
  return {
    oms: o,
    skyhub: s,
    dir,
    db: `sqlite:${join(dir, 'orders.db')}`,
    env(extra = {}) {
      const c = s.options.credentials;
      return {
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: this.db,
        HOOK_SECRET,
        ADMIN_TOKEN,
        VTEX_BASE_URL: o.url,
        VTEX_APP_KEY: o.options.appKey,
        VTEX_APP_TOKEN: o.options.appToken,
        SKYHUB_BASE_URL: s.url,
        SKYHUB_USER_EMAIL: c.email,
        SKYHUB_API_KEY: c.apiKey,
        SKYHUB_ACCOUNT_MANAGER_KEY: c.accountManagerKey,
        TICK_MS: '50',
        COLLECTION_POLL_MS: '200',
        HTTP_TIMEOUT_MS: '1000',
        LEASE_MS: '3000',
        ...extra,
      };
    },
    async close() {
      await Promise.all([o.close(), s.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A B2W order in both simulators: OMS holds `oms`, SkyHub knows the code with `kind`. */
export function addOrder(world, { n, kind = 'b2wentregadirect', items = [1], invoices, affiliateId = 'BWW', status, code }) {
  const orderId = `BWW-${1000000000 + n}-01`;
  code ??= `Lojas Americanas-${1000000000 + n}-01`;
  const packages = invoices ?? [{ key: nfeKey(n), items: items.map((q, i) => [i, q]) }];
  world.oms.setOrder(omsOrder({ orderId, code, affiliateId, items, packages, status }));
  world.skyhub.addOrder(code, kind);
  return { orderId, code };
}

/** Starts `node node/src/main.js` with `env` only; resolves once it listens. */
export function startService(env, { cwd } = {}) {
  const base = { PATH: process.env.PATH, HOME: process.env.HOME };
  const child = spawn(process.execPath, [MAIN], { env: { ...base, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const svc = { child, out: '', err: '', url: null };
  child.stdout.on('data', (d) => (svc.out += d));
  child.stderr.on('data', (d) => (svc.err += d));
  svc.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  svc.stop = async (signal = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return svc.exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${svc.out}\n${svc.err}`)), 15000);
    child.stdout.on('data', () => {
      const m = svc.out.match(/"msg":"listening","url":"([^"]+)"/);
      if (m && !svc.url) {
        svc.url = m[1];
        clearTimeout(timer);
        resolve(svc);
      }
    });
    svc.exited.then(({ code }) => {
      clearTimeout(timer);
      if (!svc.url) reject(Object.assign(new Error(`service exited with ${code}:\n${svc.err}`), { code, stderr: svc.err }));
    });
  });
}

/** Runs the service with `env` and resolves to its exit code and stderr (for start-up errors). */
export async function startFailure(env) {
  try {
    const svc = await startService(env);
    await svc.stop();
    return { code: 0, stderr: '' };
  } catch (e) {
    return { code: e.code, stderr: e.stderr ?? e.message };
  }
}

export async function hook(url, orderId, { secret = HOOK_SECRET, state = 'invoiced' } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (secret) headers['x-hook-secret'] = secret;
  const body = JSON.stringify({
    Domain: 'Fulfillment',
    OrderId: orderId,
    State: state,
    LastState: 'handling',
    LastChange: new Date().toISOString(),
    CurrentChange: new Date().toISOString(),
    Origin: { Account: 'sellerstore', Key: 'vtexappkey-sellerstore-ABC' },
  });
  const r = await fetch(`${url}/hooks/oms`, { method: 'POST', headers, body });
  return { status: r.status, body: await r.json() };
}

export async function api(url, path, { method = 'GET', token = ADMIN_TOKEN } = {}) {
  const r = await fetch(`${url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, body };
}

export async function waitFor(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function waitForState(url, orderId, states, timeoutMs = 15000) {
  const want = [].concat(states);
  let rec;
  try {
    return await waitFor(`${orderId} to reach ${want.join('|')}`, async () => {
      const r = await api(url, `/api/orders/${orderId}`);
      rec = r.body;
      return r.status === 200 && want.includes(r.body.state) ? r.body : null;
    }, timeoutMs);
  } catch (e) {
    e.message += `; last record: ${JSON.stringify(rec)}`;
    throw e;
  }
}

/** SkyHub requests about one order code (invoice, and listings' group/confirm that name it). */
export function invoicesFor(world, code) {
  return world.skyhub.stats.invoices.filter((i) => i.code === code);
}
export function confirmsFor(world, code) {
  const rc = code.slice(code.indexOf('-') + 1);
  return world.skyhub.stats.confirms.filter((c) => c.codes.includes(rc));
}
export function groupsFor(world, code) {
  const rc = code.slice(code.indexOf('-') + 1);
  return world.skyhub.stats.groups.filter((g) => g.codes.includes(rc));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The world and a service for a whole test file: started before its tests, stopped after.
 * `bind(world, svc)` receives them once started.
 */
export function serviceFixture(bind, extraEnv = {}) {
  let world;
  let svc;
  before(async () => {
    world = await startWorld();
    svc = await startService(world.env(extraEnv));
    bind(world, svc);
  });
  after(async () => {
    await svc?.stop();
    await world?.close();
  });
}
