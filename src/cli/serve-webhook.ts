// `trustpin serve webhook` (being built: issue 16).
import { TrustpinError } from '../errors/index.js';
import type { Action } from './command.js';

export const action: Action<unknown> = async () => {
  throw new TrustpinError('USAGE', 'trustpin serve webhook is not built yet');
};
