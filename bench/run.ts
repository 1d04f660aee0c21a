// `npm run bench -- <name>`: each benchmark runs trustpin and the anchor tool in the same run and prints ratios.
const name = process.argv[2];
const benches: Record<string, () => Promise<void>> = {
  digest: async () => (await import('./digest.js')).main(),
  dct: async () => (await import('./dct.js')).main(),
  compare: async () => (await import('./compare.js')).main(),
  pull: async () => (await import('./pull.js')).main(),
  diff: async () => (await import('./diff.js')).main(),
  cosign: async () => (await import('./cosign.js')).main(),
  notation: async () => (await import('./notation.js')).main(),
  pin: async () => (await import('./pin.js')).main(),
  webhook: async () => (await import('./webhook.js')).main(),
  policy: async () => (await import('./policy.js')).main(),
  mirror: async () => (await import('./mirror.js')).main(),
  startup: async () => (await import('./startup.js')).main(),
  latency: async () => (await import('./latency.js')).main(),
  'latency-rtt': async () => (await import('./latency-rtt.js')).main(),
};
const fn = name ? benches[name] : undefined;
if (!fn) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
await fn();
