#!/usr/bin/env node
// The operator's command line: an order's status, a retry, and the VTEX OMS hook.
// Exit codes: 0 done, 1 failed (the reason is printed), 2 wrong usage, 3 order not found.

const HELP = {
  main: `b2w-coleta: the operator's command line of b2w-coleta

Usage:
  b2w-coleta status ORDER        where an order stands, its last error and recent history
  b2w-coleta retry ORDER         put a failed order back in the queue
  b2w-coleta reconcile           record the orders OMS invoiced lately that no hook brought
  b2w-coleta replay --since DATE the same, back to DATE (e.g. 2026-11-28)
  b2w-coleta hook setup          point the VTEX OMS hook at the service
  b2w-coleta hook check          check that VTEX still has the hook (it drops one idle for 3 days)
  b2w-coleta COMMAND --help      help on a command

Environment: B2W_COLETA_URL (default http://127.0.0.1:$PORT, PORT default 8080), ADMIN_TOKEN,
and HOOK_URL (the URL VTEX calls) unless the service has it. The service holds the VTEX
credentials and the hook secret.`,
  status: `Usage: b2w-coleta status ORDER

Prints the order's state, delivery, SkyHub code, attempts, last error and its last history entries.
Needs B2W_COLETA_URL and ADMIN_TOKEN. Exit 3 if the service has no such order.`,
  retry: `Usage: b2w-coleta retry ORDER

Puts a failed order back at the step it failed. Exit 1 if the order is not failed, 3 if unknown.`,
  reconcile: `Usage: b2w-coleta reconcile [--hours N]

Asks the service to list the orders OMS invoiced in the last N hours (default 48) and to record
those it never heard of; they are then processed as if their hook had come.`,
  replay: `Usage: b2w-coleta replay --since DATE [--wait SECONDS]

Like reconcile, from DATE (any date JavaScript reads, e.g. 2026-11-28 or 2026-11-28T10:00:00Z)
until now, at most 60 days back; then shows a progress bar of the work queue draining, for up to
--wait seconds (default 600; 0: do not wait).`,
  hook: `Usage: b2w-coleta hook setup [--url URL] [--partial]
       b2w-coleta hook check [--url URL]

setup: the service configures the VTEX hook (POST /api/orders/hook/config) so that OMS calls URL
(default HOOK_URL, here or in the service) with the X-Hook-Secret header. The filter is FromWorkflow on "invoiced"; --partial uses the
FromOrders expression that also reports each partial invoice (more notifications, all harmless).
VTEX pings the URL while saving: the service must be reachable from VTEX.
check: reads the hook configuration and checks its URL and secret header. Exit 1 if it is missing
or points elsewhere.`,
};

class Failure extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

function env(name, fallback) {
  const v = process.env[name];
  if (v !== undefined && v.trim() !== '') return v.trim();
  if (fallback !== undefined) return fallback;
  throw new Failure(`${name} is not set`, 2);
}

async function request(url, init, what) {
  let res;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(15000) });
  } catch (e) {
    throw new Failure(`${what}: cannot reach ${new URL(url).origin}: ${e.cause?.code ?? e.message}`);
  }
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

const errorOf = (body) => (typeof body === 'object' && body ? body.error?.message ?? body.error ?? JSON.stringify(body) : String(body).slice(0, 300));

async function api(method, path) {
  const base = env('B2W_COLETA_URL', `http://127.0.0.1:${env('PORT', '8080')}`).replace(/\/$/, '');
  const token = env('ADMIN_TOKEN', '');
  const r = await request(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} }, `${method} ${path}`);
  if (r.status === 401) throw new Failure(`the service refused the admin token: ${errorOf(r.body)} (set ADMIN_TOKEN)`);
  return r;
}

function orderArg(args, cmd) {
  if (args.length !== 1 || args[0].startsWith('-')) throw new Failure(HELP[cmd], 2);
  return encodeURIComponent(args[0]);
}

function show(o) {
  const lines = [
    `${o.orderId}: ${o.state}`,
    `  SkyHub code  ${o.skyhubCode ?? '(not known yet)'}`,
    `  delivery     ${o.delivery ?? 'unknown'}`,
    `  attempts     ${o.attempts}`,
  ];
  if (o.lastError) lines.push(`  last error   ${o.lastError}`);
  if (o.plpId) lines.push(`  PLP          ${o.plpId}`);
  if (o.nextAttemptAt) lines.push(`  next attempt ${o.nextAttemptAt}`);
  lines.push('  history:');
  for (const h of o.history.slice(-8)) lines.push(`    ${h.at}  ${h.state.padEnd(20)} ${h.note}`);
  return lines.join('\n');
}

async function status(args) {
  const id = orderArg(args, 'status');
  const r = await api('GET', `/api/orders/${id}`);
  if (r.status === 404) throw new Failure(`no order ${args[0]} in b2w-coleta`, 3);
  if (r.status !== 200) throw new Failure(`status of ${args[0]}: ${r.status} ${errorOf(r.body)}`);
  console.log(show(r.body));
}

async function retry(args) {
  const id = orderArg(args, 'retry');
  const r = await api('POST', `/api/orders/${id}/retry`);
  if (r.status === 404) throw new Failure(`no order ${args[0]} in b2w-coleta`, 3);
  if (r.status !== 200) throw new Failure(`retry of ${args[0]}: ${errorOf(r.body)}`);
  console.log(`${args[0]}: back in the queue as ${r.body.state}`);
}

function flag(args, name) {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (!v || v.startsWith('--')) throw new Failure(`${name} needs a value`, 2);
  return v;
}

// The service holds the VTEX credentials and the hook secret: it reads and writes the
// configuration; the CLI only asks.
async function hook(args) {
  const [sub, ...rest] = args;
  const url = flag(rest, '--url') ?? process.env.HOOK_URL?.trim();
  const params = new URLSearchParams();
  if (url) params.set('url', url);
  if (sub === 'setup') {
    if (rest.includes('--partial')) params.set('partial', '1');
    const r = await api('POST', `/api/hook?${params}`);
    if (r.status !== 200) throw new Failure(errorOf(r.body));
    const f = r.body.filter;
    console.log(`hook set: OMS now calls ${r.body.url} (${f.type}${f.status ? ` on ${f.status}` : ''})`);
    return;
  }
  if (sub === 'check') {
    const r = await api('GET', `/api/hook?${params}`);
    if (r.status !== 200) throw new Failure(errorOf(r.body));
    if (!r.body.ok) throw new Failure(`${r.body.problem}: run "b2w-coleta hook setup"`);
    console.log(`hook ok: OMS calls ${r.body.url} (${r.body.filter?.type ?? 'FromWorkflow'})`);
    return;
  }
  throw new Failure(HELP.hook, 2);
}

async function reconcile(args, hours = Number(flag(args, '--hours') ?? 48)) {
  if (!Number.isInteger(hours) || hours < 1 || hours > 1440) throw new Failure('--hours must be a whole number from 1 to 1440', 2);
  process.stderr.write(`listing the orders OMS invoiced in the last ${hours} h…\n`);
  const r = await api('POST', `/api/reconcile?hours=${hours}`);
  if (r.status !== 200) throw new Failure(`reconcile: ${errorOf(r.body)}`);
  console.log(`${r.body.listed} order(s) invoiced in OMS in the last ${hours} h; ${r.body.added} new, now in the queue`);
}

async function dueOrders() {
  const r = await api('GET', '/metrics');
  const m = String(r.body).match(/^b2w_coleta_due_orders (\d+)$/m);
  if (!m) throw new Failure('the service did not report b2w_coleta_due_orders');
  return Number(m[1]);
}

/** Draws the work queue draining, on stderr, until it is empty or `timeoutMs` passed. */
async function watchQueue(timeoutMs) {
  const start = await dueOrders();
  let due = start;
  const end = Date.now() + timeoutMs;
  const draw = () => {
    const done = start === 0 ? 1 : Math.min(1, (start - due) / start);
    const width = 30;
    const full = Math.round(done * width);
    process.stderr.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${due} order(s) still due   `);
  };
  draw();
  while (due > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    due = await dueOrders();
    draw();
  }
  process.stderr.write('\n');
  if (due > 0) console.log(`${due} order(s) still due after ${Math.round(timeoutMs / 1000)} s: the service goes on; see "b2w-coleta status ORDER"`);
  else console.log('the queue is empty: every replayed order has been worked on');
}

async function replay(args) {
  const since = flag(args, '--since');
  const t = Date.parse(since ?? '');
  if (!since || Number.isNaN(t)) throw new Failure(HELP.replay, 2);
  const hours = Math.max(1, Math.ceil((Date.now() - t) / 3_600_000));
  if (hours > 1440) throw new Failure('--since: at most 60 days back', 2);
  await reconcile([], hours);
  const wait = Number(flag(args, '--wait') ?? 600);
  if (!Number.isInteger(wait) || wait < 0) throw new Failure('--wait takes whole seconds', 2);
  if (wait > 0) await watchQueue(wait * 1000);
}

const COMMANDS = { status, retry, reconcile, replay, hook };

async function main(argv) {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(HELP.main);
    return cmd ? 0 : 2;
  }
  if (!COMMANDS[cmd]) throw new Failure(`unknown command ${cmd}\n\n${HELP.main}`, 2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[cmd]);
    return 0;
  }
  await COMMANDS[cmd](args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Failure ? `b2w-coleta: ${e.message}` : `b2w-coleta: ${e.stack}`);
    process.exit(e instanceof Failure ? e.code : 1);
  },
);
