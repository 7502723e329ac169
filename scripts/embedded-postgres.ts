// A throwaway embedded Postgres in its own process: `tsx scripts/embedded-postgres.ts DIR PORT`
// prints "ready <admin url>", then stops the server and deletes DIR when stdin closes
// (the parent ended it or went away) or on SIGTERM/SIGINT. Used via spawnEmbeddedPostgres().
import { startEmbeddedPostgres } from './postgres';

const [dataDir, port] = process.argv.slice(2);
const pg = await startEmbeddedPostgres({ dataDir, port: Number(port), persistent: false });
console.log(`ready ${pg.adminUrl}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await pg.stop();
  process.exit(0);
}
process.stdin.on('end', () => void stop()).on('close', () => void stop()).resume();
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
