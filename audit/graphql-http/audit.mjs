// Runs the graphql-http audit suite against a running Mati and fails when any MUST
// item fails. Usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://HOST:PORT/graphql');
  process.exit(2);
}

let failedMust = 0;
let passed = 0;
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed += 1;
    continue;
  }
  const must = audit.name.startsWith('MUST');
  if (must) failedMust += 1;
  console.log(`${must ? 'FAIL' : 'warn'} ${audit.id} ${audit.name}: ${result.reason}`);
}
console.log(`${passed} audits passed, ${failedMust} MUST items failed`);
process.exit(failedMust === 0 ? 0 : 1);
