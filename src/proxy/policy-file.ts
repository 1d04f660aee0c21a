// The mirror's policy: a loaded one as given, or a file re-read when its mtime, size or inode changes. A file that
// does not load at the start is an error; one that stops loading later makes every decision fail closed (503)
// until it loads again — the last good policy is not used.
import { statSync } from 'node:fs';
import { isTrustpinError, TrustpinError } from '../errors/index.js';
import { loadPolicy, type Policy } from '../policy/index.js';

/** The current policy, checked for changes on every call of {@link PolicyHolder.current}; throws if it does not load at first. */
export class PolicyHolder {
  private policy: Policy | undefined;
  private failure: TrustpinError | undefined;
  private stamp = '';

  constructor(
    private readonly given: string | Policy,
    private readonly onReload: (p: Policy | undefined, e?: TrustpinError) => void = () => undefined,
  ) {
    if (typeof given !== 'string') this.policy = given;
    else {
      this.reload();
      if (this.failure) throw this.failure;
    }
  }

  /** The policy to decide by; throws the load error while the file does not load. */
  current(): Policy {
    if (typeof this.given === 'string') this.reload();
    if (this.failure) throw this.failure;
    return this.policy!;
  }

  private reload(): void {
    const file = this.given as string;
    let stamp: string;
    try {
      const s = statSync(file);
      stamp = `${s.mtimeMs} ${s.size} ${s.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.policy = loadPolicy(file);
      this.failure = undefined;
      this.onReload(this.policy);
    } catch (e) {
      this.policy = undefined;
      this.failure = isTrustpinError(e)
        ? e
        : new TrustpinError('TRUST_POLICY_INVALID', `${file}: ${String(e)}`);
      this.onReload(undefined, this.failure);
    }
  }
}
