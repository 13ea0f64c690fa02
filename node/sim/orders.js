// Realistic OMS orders for the simulators and tests, derived from VTEX's published example
// order (tests/fixtures/vtex-oms-order-example.json) rather than written by hand.
import { readFileSync } from 'node:fs';

const FIXTURE = JSON.parse(
  readFileSync(new URL('../../tests/fixtures/vtex-oms-order-example.json', import.meta.url), 'utf8'),
);

/** A valid 44-digit NF-e access key (model 55) numbered `n`. */
export function nfeKey(n) {
  const body = `3524010000000000000055001${String(n).padStart(9, '0')}1${String(n).padStart(8, '0')}`;
  let sum = 0;
  for (let i = 0; i < 43; i++) sum += Number(body[42 - i]) * (2 + (i % 8));
  const r = sum % 11;
  return body + (r < 2 ? 0 : 11 - r);
}

export function nfeXml(key) {
  return `<?xml version="1.0" encoding="UTF-8"?><nfeProc versao="4.00"><NFe><infNFe Id="NFe${key}" versao="4.00"><ide><mod>55</mod></ide></infNFe></NFe><protNFe><infProt><chNFe>${key}</chNFe></infProt></protNFe></nfeProc>`;
}

/**
 * An OMS order: `items` are quantities; `packages` are
 * `{type: 'Output'|'Input', key, items: [[itemIndex, quantity], …], xml?, volumes?}`.
 */
export function omsOrder({ orderId, code, affiliateId = 'BWW', status = 'handling', items = [1], packages = [] }) {
  const o = structuredClone(FIXTURE);
  o.orderId = orderId;
  o.marketplaceOrderId = code;
  o.affiliateId = affiliateId;
  o.status = status;
  o.creationDate = new Date().toISOString();
  o.items = items.map((quantity, i) => ({ ...structuredClone(FIXTURE.items[0]), id: String(100 + i), quantity }));
  const tpl = FIXTURE.packageAttachment.packages[0];
  o.packageAttachment = {
    packages: packages.map((p, i) => ({
      ...structuredClone(tpl),
      type: p.type ?? 'Output',
      invoiceNumber: String(5000 + i),
      invoiceKey: p.key,
      issuanceDate: '2026-12-03T10:10:20.5322681+00:00',
      embeddedInvoice: p.xml ?? (p.key && /^\d{44}$/.test(p.key) ? nfeXml(p.key) : ''),
      volumes: p.volumes ?? 1,
      items: p.items.map(([itemIndex, quantity]) => ({ itemIndex, quantity, price: 0, description: '', unitMultiplier: 1 })),
    })),
  };
  return o;
}
