// The specs of `serve …`: the long-running faces of the library — an admission webhook for Kubernetes and a
// verifying registry mirror for containerd, CRI-O/podman/skopeo and docker. Their actions load only when one runs.
import { type CommandSpec, collect } from './command.js';

export interface ServeWebhookFlags {
  policy: string;
  tlsCert?: string;
  tlsKey?: string;
  listen?: string;
  insecureHttp?: boolean;
  cacheTtl?: string;
}

export interface ServeMirrorFlags {
  policy: string;
  listen?: string;
  upstream?: string[];
  cache?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export const serveSpecs: CommandSpec<never>[] = [
  {
    name: 'webhook',
    description:
      'a Kubernetes admission webhook (POST /validate, /mutate; /healthz, /readyz, /metrics) judging every pod image by the policy',
    options: [
      {
        flags: '--policy <file>',
        description: 'the trustpin policy (reloaded when the file changes)',
        required: true,
      },
      { flags: '--tls-cert <file>', description: 'the serving certificate (PEM; reloaded when it changes)' },
      { flags: '--tls-key <file>', description: 'its private key (PEM)' },
      { flags: '--listen <addr>', description: 'HOST:PORT to listen on', default: '0.0.0.0:8443' },
      { flags: '--insecure-http', description: 'plain HTTP (tests and a TLS-terminating sidecar only)' },
      { flags: '--cache-ttl <seconds>', description: 'how long a verdict is reused', default: '300' },
    ],
    load: () => import('./serve-webhook.js'),
  } as CommandSpec<ServeWebhookFlags> as CommandSpec<never>,
  {
    name: 'mirror',
    description:
      'a read-only registry mirror that answers a tag only with the digest the policy verified, and serves content only by digest after hashing it',
    options: [
      {
        flags: '--policy <file>',
        description: 'the trustpin policy (reloaded when the file changes)',
        required: true,
      },
      { flags: '--listen <addr>', description: 'HOST:PORT to listen on', default: '0.0.0.0:5000' },
      {
        flags: '--upstream <host=url>',
        description: 'where an origin is reached (repeatable): docker.io=https://registry-1.docker.io',
        parse: collect,
      },
      { flags: '--cache <dir>', description: 'keep verified manifests and blobs here (content-addressed)' },
      { flags: '--tls-cert <file>', description: 'serve HTTPS with this certificate (PEM)' },
      { flags: '--tls-key <file>', description: 'its private key (PEM)' },
    ],
    load: () => import('./serve-mirror.js'),
  } as CommandSpec<ServeMirrorFlags> as CommandSpec<never>,
];
