// The admin page in headless Chromium (Debian's chromium, driven by playwright-core): load,
// sign in, filter, search, open an order, retry a failed one. A screenshot is kept in
// test-artifacts/admin-page.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startWorld, startService, addOrder, hook, waitForState, ADMIN_TOKEN } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
// CI installs Chromium (.ci/run); elsewhere the test says why it did not run.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : false;

let world;
let svc;
let browser;
before(async () => {
  if (skip) return;
  const { chromium } = createRequire(new URL('../node/package.json', import.meta.url))('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  world = await startWorld();
  svc = await startService(world.env());
});
after(async () => {
  await browser?.close();
  await svc?.stop();
  await world?.close();
});

test('an operator finds a failed order, reads why, and retries it', { skip }, async () => {
  const ok = addOrder(world, { n: 800 });
  const bad = addOrder(world, { n: 801 });
  world.skyhub.orders.get(bad.code).status = { code: 'order_canceled', type: 'CANCELED', label: 'Cancelado (SkyHub)' };
  await hook(svc.url, ok.orderId);
  await hook(svc.url, bad.orderId);
  await waitForState(svc.url, ok.orderId, 'collection_requested');
  await waitForState(svc.url, bad.orderId, 'failed');

  const page = await browser.newPage();
  await page.goto(`${svc.url}/`);
  // without the token the page shows no order data
  await page.getByRole('status').filter({ hasText: /ADMIN_TOKEN/ }).waitFor();
  assert.equal(await page.locator('#rows tr').count(), 0);

  await page.getByLabel('Admin token (ADMIN_TOKEN)').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Show orders' }).click();
  await page.getByRole('status').filter({ hasText: '2 order(s)' }).waitFor();
  await page.getByRole('button', { name: 'failed: 1' }).waitFor();
  await page.getByRole('button', { name: 'collection_requested: 1' }).waitFor();

  await page.getByRole('button', { name: 'failed: 1' }).click();
  await page.getByRole('status').filter({ hasText: '1 order(s)' }).waitFor();
  assert.match(await page.locator('#rows').innerText(), new RegExp(bad.orderId));
  assert.match(await page.locator('#rows').innerText(), /Transição de status inválida/);

  await page.getByLabel('State', { exact: true }).selectOption('');
  await page.getByLabel('Order id or SkyHub code').fill('1000000800');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('status').filter({ hasText: '1 order(s)' }).waitFor();
  assert.match(await page.locator('#rows').innerText(), new RegExp(ok.orderId));
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('heading', { name: `Order ${ok.orderId}` }).waitFor();
  assert.match(await page.locator('#history').innerText(), /pickup requested at SkyHub/);

  world.skyhub.orders.get(bad.code).status = { code: 'payment_received', type: 'APPROVED', label: 'Aprovado (SkyHub)' };
  await page.getByLabel('Order id or SkyHub code').fill('');
  await page.getByLabel('State', { exact: true }).selectOption('failed');
  await page.getByRole('status').filter({ hasText: '1 order(s)' }).waitFor();
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('status').filter({ hasText: `${bad.orderId}: back in the queue as invoice_pending` }).waitFor();
  await page.getByRole('heading', { name: `Order ${bad.orderId}` }).waitFor();
  assert.match(await page.locator('#history').innerText(), /retry requested by the operator/);
  await waitForState(svc.url, bad.orderId, 'collection_requested');

  await page.getByLabel('State', { exact: true }).selectOption('');
  await page.getByRole('button', { name: 'collection_requested: 2' }).waitFor();

  // the PLPs, and their labels as a PDF ready to print
  await page.reload();
  const plp = world.skyhub.plps[0].id;
  const print = page.getByRole('button', { name: `Print labels of PLP ${plp}` });
  await print.waitFor();
  const [popup] = await Promise.all([page.waitForEvent('popup'), print.click()]);
  assert.match(popup.url(), /^blob:/);
  await page.getByRole('status').filter({ hasText: `labels of PLP ${plp} opened` }).waitFor();
  await popup.close();
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}admin-page.png`, fullPage: true });
});
