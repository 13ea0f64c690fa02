// Sandbox mode: the OMS and SkyHub simulators in this process, seeded with sample orders,
// and the settings that point the core at them.
import { startOms } from '../sim/oms.js';
import { startSkyhub } from '../sim/skyhub.js';
import { omsOrder, nfeKey } from '../sim/orders.js';

export const SAMPLES = [
  { orderId: 'BWW-1517940500554-01', code: 'Lojas Americanas-1517940500554-01', kind: 'b2wentregadirect', items: [1], invoiced: [[[0, 1]]], what: 'Direct, one item, invoiced: ends in collection_requested' },
  { orderId: 'BWW-1517940500555-01', code: 'Submarino-1517940500555-01', kind: 'b2wentregadirect', items: [1, 2], invoiced: [[[0, 1]]], what: 'Direct, two items, only the first invoiced: stays in waiting_invoice' },
  { orderId: 'BWW-1517940500556-01', code: 'Shoptime-1517940500556-01', kind: 'b2wentregacorreios', items: [2], invoiced: [[[0, 1]], [[0, 1]]], what: 'Correios, two partial invoices: ends in invoiced' },
  { orderId: 'GHB-880102018018-01', code: '880102018018-01', kind: null, affiliateId: 'GHB', items: [1], invoiced: [[[0, 1]]], what: 'not B2W: ends in ignored' },
];

export async function startSandbox({ processingDelayMs = 2000 } = {}) {
  const oms = await startOms();
  const skyhub = await startSkyhub({ processingDelayMs });
  let n = 1;
  for (const s of SAMPLES) {
    const packages = s.invoiced.map((items) => ({ key: nfeKey(n++), items, volumes: 1 }));
    oms.setOrder(omsOrder({ orderId: s.orderId, code: s.code, affiliateId: s.affiliateId ?? 'BWW', items: s.items, packages }));
    skyhub.addOrder(s.code, s.kind);
  }
  const c = skyhub.options.credentials;
  return {
    oms,
    skyhub,
    env: {
      B2W_COLETA_SANDBOX: '1',
      VTEX_BASE_URL: oms.url,
      VTEX_APP_KEY: oms.options.appKey,
      VTEX_APP_TOKEN: oms.options.appToken,
      SKYHUB_BASE_URL: skyhub.url,
      SKYHUB_USER_EMAIL: c.email,
      SKYHUB_API_KEY: c.apiKey,
      SKYHUB_ACCOUNT_MANAGER_KEY: c.accountManagerKey,
    },
    close: () => Promise.all([oms.close(), skyhub.close()]),
  };
}
