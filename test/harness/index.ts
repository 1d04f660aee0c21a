// The test harness: real docker-registry servers (plain, htpasswd, token) seeded with the demo images.
// Tests import from here; `registryFixture` wires start/seed/stop into node:test's before/after hooks.
import { after, before } from 'node:test';
import { type SeededImages, seedRegistry } from './images.js';
import { type RegistryMode, type RegistryOptions, type RunningRegistry, startRegistry } from './registry.js';

export * from './cosign.js';
export * from './http.js';
export * from './images.js';
export * from './notary-seed.js';
export * from './oci-layout-writer.js';
export * from './ports.js';
export * from './processes.js';
export * from './push.js';
export * from './registry.js';
export * from './token-server.js';

export interface RegistryContext {
  registry: RunningRegistry;
  /** undefined when started with `seed: false` */
  images: SeededImages | undefined;
}

export interface FixtureOptions extends Omit<RegistryOptions, 'mode'> {
  /** push the demo images (default true) */
  seed?: boolean;
}

async function startContext(mode: RegistryMode, opts: FixtureOptions): Promise<RegistryContext> {
  const { seed = true, ...rest } = opts;
  const registry = await startRegistry({ ...rest, mode });
  try {
    return { registry, images: seed ? await seedRegistry(registry) : undefined };
  } catch (err) {
    await registry.stop();
    throw err;
  }
}

/** Start (and seed) a registry, run `fn`, and stop it whatever `fn` does. */
export async function withRegistry<T>(
  mode: RegistryMode,
  fn: (ctx: RegistryContext) => Promise<T>,
  opts: FixtureOptions = {},
): Promise<T> {
  const ctx = await startContext(mode, opts);
  try {
    return await fn(ctx);
  } finally {
    await ctx.registry.stop();
  }
}

export interface RegistryFixture {
  /** throws if read before the `before` hook has run */
  readonly registry: RunningRegistry;
  /** throws if read before `before`, or when seeding was turned off */
  readonly images: SeededImages;
}

/**
 * Register before/after hooks in the current file or describe block: one registry for all its tests.
 * The `after` hook runs even when `before` or a test failed, so the process never outlives the suite.
 */
export function registryFixture(mode: RegistryMode, opts: FixtureOptions = {}): RegistryFixture {
  let ctx: RegistryContext | undefined;
  let starting: Promise<RegistryContext> | undefined;
  before(async () => {
    starting = startContext(mode, opts);
    ctx = await starting;
  });
  after(async () => {
    // If `before` is still running (a timeout), wait for it so its process can be stopped too.
    const c = ctx ?? (await starting?.catch(() => undefined));
    await c?.registry.stop();
  });
  return {
    get registry() {
      if (!ctx) throw new Error(`${mode} registry fixture used before its before() hook ran`);
      return ctx.registry;
    },
    get images() {
      if (!ctx?.images) throw new Error(`${mode} registry fixture has no seeded images`);
      return ctx.images;
    },
  };
}
