// Every fuzz target, in one list: the bounded CI run (test/fuzz/fuzz.test.ts) and `npm run fuzz` read it.
// Add a target: import it here and append it to the array (a module may export one target or an array).
import type { FuzzTarget } from '../harness.js';
import reference from './reference.js';

export const targets: FuzzTarget<unknown>[] = [reference].flat() as FuzzTarget<unknown>[];
