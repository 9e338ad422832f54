/**
 * `log-burst.fixture.ts LINES END`: writes LINES log lines through the app logger as fast as it
 * can, then ends the way END says: `exit` (process.exit, as runApp does on SIGTERM), `throw` (an
 * uncaught exception), or `signal` (waits for SIGTERM, then exits as runApp does).
 */
import { createLogger } from '../src/logger';

const [lines, end] = [Number(process.argv[2]), process.argv[3]];
const logger = createLogger('burst', 'info');
for (let i = 0; i < lines; i++) logger.info({ i }, 'line');

if (end === 'throw') throw new Error('crash after logging');
if (end === 'signal') {
  process.once('SIGTERM', () => process.exit(0));
  process.stderr.write('ready\n');
  setInterval(() => undefined, 1000);
} else {
  process.exit(0);
}
