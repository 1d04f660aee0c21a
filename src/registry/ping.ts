// The `/v2/` ping that decides a host's scheme and auth challenges: HTTPS first, plain HTTP only where the host
// allows it and the caller did not ask for HTTPS, never after a refused certificate; one ping shared by callers.
// A loopback host without a CA is the exception: plain HTTP first, because local registries (CI services,
// kind, `registry:2` on localhost:5000) mostly serve it, and the HTTPS attempt cost every call the TLS stack's
// load and a failed handshake. No network can see or alter loopback traffic, so the order gives nothing away.
import { TrustpinError } from '../errors/index.js';
import { isLoopbackHost } from '../reference/index.js';
import { type Challenge, parseChallenges } from './challenge.js';
import { abortedError, type Http, headerAll } from './http.js';
import type { HostConfig } from './options.js';

export interface HostState {
  base: string;
  challenges: Challenge[];
}

/** One ping shared by every caller that needs the host; it is aborted only when all of them have given up. */
export interface Flight {
  state: Promise<HostState>;
  controller: AbortController;
  /** callers still waiting (Infinity once one waits without a signal) */
  waiting: number;
  settled: boolean;
}

// Node's certificate verification codes: the server speaks TLS and its certificate was refused, so plain HTTP
// on the same port cannot be the answer and would only hide the reason
const CERT_REFUSED =
  /^(UNABLE_TO_|CERT_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

/**
 * Ping `hc.host`. Only `'https'` when `only` says so; otherwise a loopback or insecure host falls back to plain
 * HTTP when HTTPS cannot connect — but not when the server spoke TLS and its certificate was refused. A loopback
 * host without a CA is tried the other way round: plain HTTP, then HTTPS when no registry answered.
 */
export async function ping(
  http: Http,
  hc: HostConfig,
  only: 'https' | undefined,
  signal: AbortSignal,
): Promise<HostState> {
  const host = hc.host;
  const schemes =
    !hc.insecure || only === 'https'
      ? ['https']
      : plainFirst(hc)
        ? // the probe gets one attempt; a plain server that reset it still gets its retries after HTTPS failed
          ['http', 'https', 'http']
        : ['https', 'http'];
  let lastErr: unknown;
  // what a server said over plain HTTP, when HTTPS is still to be tried: if HTTPS cannot connect either, that
  // answer (a 404 from something that is not a registry) explains more than a failed handshake would
  let answered: TrustpinError | undefined;
  for (const [i, scheme] of schemes.entries()) {
    const base = `${scheme}://${host}`;
    // the plain-HTTP probe of a loopback host: a TLS server resets it, and that reset is its answer (no retry)
    const probe = scheme === 'http' && i === 0 && schemes.length > 1;
    try {
      const res = await http.send({
        method: 'GET',
        url: `${base}/v2/`,
        signal,
        ...(probe ? { attempts: 1 } : {}),
      });
      await res.body.dump().catch(() => undefined);
      if (res.status === 200) return { base, challenges: [] };
      if (res.status === 401)
        return { base, challenges: parseChallenges(headerAll(res.headers, 'www-authenticate')) };
      throw new TrustpinError(
        'REGISTRY_ERROR',
        `${base}/v2/ answered ${res.status}: not a registry API v2 endpoint`,
        {
          expected: '200 or 401 from /v2/',
          found: String(res.status),
        },
      );
    } catch (e) {
      lastErr = e;
      // a TLS-only server answers a plain request with 400 (Go's "HTTP request to an HTTPS server") or a reset
      if (probe) {
        if (e instanceof TrustpinError && e.code === 'REGISTRY_ERROR') answered = e;
        else if (!(e instanceof TrustpinError && e.code === 'NETWORK_ERROR')) throw e;
        continue;
      }
      if (answered && e instanceof TrustpinError && ['NETWORK_ERROR', 'TLS_ERROR'].includes(e.code))
        throw answered;
      if (e instanceof TrustpinError && !['NETWORK_ERROR', 'TLS_ERROR'].includes(e.code)) throw e;
      if (e instanceof TrustpinError && e.code === 'TLS_ERROR' && certRefused(e)) throw tlsRefused(e, hc);
    }
  }
  throw lastErr;
}

/** Plain HTTP is tried first on a loopback host for which no CA was given (a CA says the host speaks TLS). */
function plainFirst(hc: HostConfig): boolean {
  return isLoopbackHost(hc.host) && hc.ca === undefined;
}

/** Wait for a shared ping under one caller's signal; the ping itself is aborted when no caller is left. */
export function join(f: Flight, signal: AbortSignal | undefined, what: string): Promise<HostState> {
  if (f.settled || !signal) {
    if (!signal) f.waiting = Number.POSITIVE_INFINITY;
    return f.state;
  }
  if (signal.aborted) return Promise.reject(abortedError(what, signal));
  f.waiting++;
  return new Promise((resolve, reject) => {
    const leave = () => {
      if (--f.waiting <= 0 && !f.settled) f.controller.abort(signal.reason);
      reject(abortedError(what, signal));
    };
    signal.addEventListener('abort', leave, { once: true });
    f.state.then(
      (st) => {
        signal.removeEventListener('abort', leave);
        resolve(st);
      },
      (e) => {
        signal.removeEventListener('abort', leave);
        reject(e);
      },
    );
  });
}

function certRefused(e: TrustpinError): boolean {
  const code = (e.cause as { code?: string } | undefined)?.code ?? '';
  return CERT_REFUSED.test(code);
}

/** The TLS failure as the user must see it: which host, and that its certificate did not verify. */
function tlsRefused(e: TrustpinError, hc: HostConfig): TrustpinError {
  const reason = (e.cause as { message?: string } | undefined)?.message ?? 'certificate refused';
  return new TrustpinError('TLS_ERROR', `${hc.host}: TLS certificate not trusted (${reason})`, {
    expected: hc.ca
      ? `a certificate signed by the CA given for ${hc.host}`
      : 'a certificate signed by a system CA',
    found: reason,
    hint: hc.ca
      ? `check the CA given for ${hc.host} (option extraCa, or the certsDir <host>/*.crt files): it did not sign this server's certificate`
      : `put the CA in certsDir/${hc.host}/ca.crt (default /etc/docker/certs.d), or pass it as option extraCa`,
    cause: e.cause,
  });
}
