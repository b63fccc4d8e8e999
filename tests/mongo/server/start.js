// Starts the in-memory MongoDB wire-protocol server on 127.0.0.1 with a
// port the kernel chooses, prints that port alone on a line, and serves
// until it is killed. The mongo tests read the line to build their URI.
import { CongoServer } from './node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js';

const server = new CongoServer({ host: '127.0.0.1', port: 0, storage: 'memory' });
try {
  await server.start();
} catch (err) {
  console.error(`mongo test server: cannot start: ${err.message}`);
  process.exit(1);
}
process.stdout.write(`${server.server.address().port}\n`);
// Tests kill this process by PID; a clean stop on SIGTERM/SIGINT too.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.stop().finally(() => process.exit(0)));
}
