// Loads the WebAssembly core built by `wasm-pack build --target nodejs --out-dir node/pkg`.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgPath = fileURLToPath(new URL('../pkg/b2w_coleta.js', import.meta.url));
if (!existsSync(pkgPath)) {
  console.error(`b2w-coleta: the WebAssembly core is not built (${pkgPath} is missing): run "make build"`);
  process.exit(1);
}
const core = createRequire(import.meta.url)(pkgPath);

export const { Service, parseConfig, decideOrder } = core;
