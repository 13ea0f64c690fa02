// manifest.json: VTEX IO fields, outbound access to both APIs, settings mirroring the configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8'));

test('manifest has the VTEX IO fields', () => {
  for (const k of ['vendor', 'name', 'version', 'title', 'description', 'builders', 'policies', 'settingsSchema']) {
    assert.ok(manifest[k], k);
  }
  assert.equal(manifest.name, 'b2w-coleta');
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
});

test('outbound access to SkyHub and to the OMS order paths', () => {
  const hosts = manifest.policies.filter((p) => p.name === 'outbound-access').map((p) => `${p.attrs.host}${p.attrs.path}`);
  assert.ok(hosts.includes('api.skyhub.com.br/*'));
  assert.ok(hosts.includes('{{account}}.vtexcommercestable.com.br/api/oms/pvt/orders/*'));
});

test('settings mirror the configuration variables and carry no secret values', () => {
  const props = manifest.settingsSchema.properties;
  const vars = Object.values(props).map((p) => p.title.match(/\(([A-Z0-9_]+)\)/)[1]).sort();
  assert.deepEqual(vars, [
    'ADMIN_TOKEN', 'B2W_AFFILIATE_IDS', 'HOOK_SECRET', 'SKYHUB_ACCOUNT_MANAGER_KEY', 'SKYHUB_API_KEY',
    'SKYHUB_BASE_URL', 'SKYHUB_RATE_LIMITS', 'SKYHUB_USER_EMAIL', 'VTEX_APP_KEY', 'VTEX_APP_TOKEN',
  ]);
  for (const k of ['hookSecret', 'adminToken', 'vtexAppToken', 'skyhubApiKey', 'skyhubAccountManagerKey']) {
    assert.equal(props[k].default, undefined, `${k} must have no default`);
  }
});
