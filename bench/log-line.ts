/**
 * What one request line costs to log (BENCHMARKS.md "The request line"): `npm run build && node
 * dist/bench/log-line.js | cat > /dev/null`. The service's logger (shared/logger.ts, its redaction
 * of 40 paths) and the request logger of shared/http.ts (the same logger's child with `redact: []`)
 * each write BENCH_LOG_LINES request lines, alternating, three times, to stdout (pipe it away); the CPU
 * time per line goes to stderr. Never part of `npm test`.
 */
import { createLogger, type Logger } from '../src/shared/logger';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 200_000);
const line = () => ({ reqId: '3f1b2c4d-1234-4abc-9def-0123456789ab', method: 'POST', path: '/webhooks/ticket-closed', status: 202, ms: 3.14159 });

/** CPU microseconds (user + system) per line written by `logger`. */
function perLine(logger: Logger): number {
  const before = process.cpuUsage();
  for (let i = 0; i < LINES; i++) logger.info(line(), 'request');
  const used = process.cpuUsage(before);
  return (used.user + used.system) / LINES;
}

const service = createLogger('info');
const requests = service.child({}, { redact: [] });
perLine(service); // warm-up: the JIT, the redaction's compiled functions
perLine(requests);
for (let round = 1; round <= 3; round++) {
  const [redacted, plain] = [perLine(service), perLine(requests)];
  process.stderr.write(`round ${round}: with the redaction ${redacted.toFixed(1)} µs of CPU per line, the request logger ${plain.toFixed(1)} µs\n`);
}
