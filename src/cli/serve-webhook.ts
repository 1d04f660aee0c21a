// `trustpin serve webhook --policy FILE --tls-cert F --tls-key F [--listen ADDR]`: the admission webhook until
// SIGTERM or SIGINT, then a graceful stop (requests in flight finish) and exit 0.
import { WebhookServer } from '../admission/index.js';
import { TrustpinError } from '../errors/index.js';
import type { Action } from './command.js';
import { EXIT } from './common.js';
import type { ServeWebhookFlags } from './serve-specs.js';

export const action: Action<ServeWebhookFlags> = async (_args, f, ctx) => {
  const [host, port] = listenAddress(f.listen ?? '0.0.0.0:8443');
  const ttl = Number(f.cacheTtl ?? '300');
  if (!Number.isFinite(ttl) || ttl < 0)
    throw new TrustpinError('USAGE', '--cache-ttl must be a number of seconds', {
      found: String(f.cacheTtl),
    });
  const server = new WebhookServer({
    policyFile: f.policy,
    tlsCert: f.tlsCert,
    tlsKey: f.tlsKey,
    insecureHttp: f.insecureHttp === true,
    client: ctx.client,
    cache: { ttlMs: ttl * 1000 },
  });
  await server.listen(port, host);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.close();
  return { exit: EXIT.ok, text: '' };
};

/** `HOST:PORT`, `:PORT` or `[V6]:PORT`. */
export function listenAddress(s: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new TrustpinError('USAGE', `--listen ${JSON.stringify(s)} is not HOST:PORT`, {
      expected: 'HOST:PORT, e.g. 0.0.0.0:8443 or 127.0.0.1:0',
      found: s,
    });
  return [m[1] ?? (m[2] || '0.0.0.0'), port];
}
