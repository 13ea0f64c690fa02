// `make run` with no SkyHub credentials: sandbox mode, and the printed sample hook works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService, waitFor } from './helpers.mjs';

test('sandbox mode prints a sample hook that carries the order to collection_requested', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'b2w-sandbox-'));
  const svc = await startService({ PORT: '0', COLLECTION_POLL_MS: '200' }, { cwd });
  try {
    await waitFor('the sandbox help', () => /Send a sample hook:/.test(svc.out) && /Admin page/.test(svc.out));
    assert.match(svc.out, /Sandbox mode/);
    assert.ok(existsSync(join(cwd, 'data', 'sandbox.db')));
    const hookCmd = svc.out.match(/curl -s -X POST (\S+) -H 'Content-Type: application\/json' -d '([^']+)'/);
    assert.ok(hookCmd, svc.out);
    const r = await fetch(hookCmd[1], { method: 'POST', headers: { 'content-type': 'application/json' }, body: hookCmd[2] });
    assert.equal(r.status, 200);
    const watch = svc.out.match(/curl -s (http\S+\/api\/orders\/\S+)/)[1];
    const rec = await waitFor('collection_requested', async () => {
      const o = await (await fetch(watch)).json();
      return o.state === 'collection_requested' ? o : null;
    }, 20000);
    assert.equal(rec.delivery, 'direct');
    assert.match(rec.plpId, /^\d+$/);
  } finally {
    await svc.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
});
