// Free loopback ports for the harness's servers: ask the kernel for one, then hand it to a child process.
// There is a small window in which another process could take the port; callers retry a start on EADDRINUSE.
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the port of a loopback listener'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}
