/**
 * The yardstick of the HTTP benchmark: bare node:http answering each benchmarked path with the
 * exact bytes and content-type the control server answered it with, and nothing else (no
 * routing beyond an exact path lookup, no authentication, no metrics).
 *
 *   node dist-bench/http-bare-server.js BODIES.json PORT
 *
 * BODIES.json: [{ "path": "/api/v1/me", "contentType": "...", "body": "<base64>" }, ...].
 * Listens on PORT on loopback; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

export interface BareBody {
  path: string;
  contentType: string;
  /** Base64 of the bytes to send. */
  body: string;
}

const [file, port] = process.argv.slice(2);
if (!file || !port || !/^\d{1,5}$/.test(port)) {
  process.stderr.write('usage: http-bare-server.js BODIES.json PORT\n');
  process.exit(2);
}
const answers = new Map(
  (JSON.parse(readFileSync(file, 'utf8')) as BareBody[]).map(({ path, contentType, body }) => {
    const bytes = Buffer.from(body, 'base64');
    return [path, { bytes, headers: { 'content-type': contentType, 'content-length': String(bytes.length) } }] as const;
  }),
);

const server = createServer((req, res) => {
  const answer = answers.get(req.url ?? '');
  if (!answer) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, answer.headers);
  res.end(answer.bytes);
});
// As the control server does: idle keep-alive sockets close after 5 s.
server.keepAliveTimeout = 5000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
