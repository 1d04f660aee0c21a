// `trustpin serve mirror`: the verifying registry mirror on HOST:PORT until SIGTERM or SIGINT, then a graceful
// close and exit 0. Flags become MirrorOptions; everything the mirror does is in src/proxy.
import { readFile } from 'node:fs/promises';
import { TrustpinError } from '../errors/index.js';
import { createMirrorServer } from '../proxy/index.js';
import type { Action } from './command.js';
import type { ServeMirrorFlags } from './serve-specs.js';

export const action: Action<ServeMirrorFlags> = async (_args, f, ctx) => {
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined))
    throw new TrustpinError('USAGE', '--tls-cert and --tls-key go together', {
      expected: 'both flags, or neither (plain HTTP)',
      found: f.tlsCert ? '--tls-cert only' : '--tls-key only',
    });
  const tls =
    f.tlsCert && f.tlsKey ? { cert: await readFile(f.tlsCert), key: await readFile(f.tlsKey) } : undefined;
  const timeout = ctx.opts.timeout === undefined ? undefined : Number(ctx.opts.timeout) * 1000;
  const mirror = createMirrorServer({
    policy: f.policy,
    listen: f.listen ?? '0.0.0.0:5000',
    upstreams: f.upstream ?? [],
    cacheDir: f.cache,
    tls,
    registry: {
      insecureRegistries: ctx.opts.insecureRegistry ?? [],
      ...(timeout !== undefined && timeout > 0 ? { timeoutMs: timeout } : {}),
      ...(ctx.opts.authfile !== undefined ? { authFile: ctx.opts.authfile } : {}),
    },
  });
  const url = await mirror.listen();
  process.stderr.write(`trustpin mirror listening on ${url}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(s);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.stderr.write(`trustpin mirror: ${signal}, closing\n`);
  await mirror.close();
  return { exit: 0, quiet: '' };
};
