// Starts the in-memory MongoDB wire-protocol server on 127.0.0.1 with a
// port the kernel chooses, prints that port alone on a line, and serves
// until it is killed. The mongo tests read the line to build their URI.
import { Long, ObjectId } from 'bson';
import { CongoServer } from './node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js';
import { HelloHandler } from './node_modules/@push.rocks/smartmongo/dist_ts/congodb/server/handlers/HelloHandler.js';

// CongoServer answers every hello with a fresh topologyVersion at once.
// Drivers that stream server monitoring (libmongoc >= 1.18) then send the
// next awaitable hello immediately: a busy loop burning CPU in the client
// and the server. A real mongod keeps one processId and holds an
// awaitable hello (one carrying topologyVersion and maxAwaitTimeMS) until
// the topology changes or maxAwaitTimeMS passes; so does this one now.
const processId = new ObjectId();
const answer = HelloHandler.prototype.handle;
HelloHandler.prototype.handle = async function (context) {
  const reply = await answer.call(this, context);
  reply.topologyVersion = { processId, counter: Long.fromNumber(0) };
  const { topologyVersion, maxAwaitTimeMS } = context.command;
  if (topologyVersion && maxAwaitTimeMS) {
    await new Promise((resolve) => setTimeout(resolve, Number(maxAwaitTimeMS)).unref());
  }
  return reply;
};

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
