// `exp sync [--to URI] [--experiment NAME]`: push the local file store to a tracking server.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitCodeFor } from '../../error-codes.ts';
import { isExpError } from '../../errors.ts';
import { authFromEnv, isHttpUri, MlflowRestClient, retryFromEnv, timeoutFromEnv } from '../../track/rest-client.ts';
import { StoreSyncer } from '../../track/sync.ts';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const USAGE =
  'usage: exp sync [--to http(s)://host:port] [--experiment NAME]\n  pushes the runs in <runs>/mlruns to an MLflow server (default: $MLFLOW_TRACKING_URI); running it again pushes only what is new';

export async function syncCommand(argv: string[], io: Io, runsDir: string): Promise<number> {
  let values: { to?: string; experiment?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { to: { type: 'string' }, experiment: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr.write(`✖ ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const uri = values.to ?? process.env.MLFLOW_TRACKING_URI;
  if (!isHttpUri(uri)) {
    io.stderr.write(
      `✖ ${uri ? `${JSON.stringify(uri)} is not an http(s) tracking server` : 'no server to sync to'}\n  → pass --to http://host:5000 or set MLFLOW_TRACKING_URI\n${USAGE}\n`,
    );
    return 2;
  }
  const root = join(runsDir, 'mlruns');
  let client: MlflowRestClient;
  try {
    // A server that stops answering fails the remaining runs at once (not 5 × 30 s each).
    client = new MlflowRestClient({
      trackingUri: uri,
      ...authFromEnv(process.env),
      retry: retryFromEnv(process.env),
      timeoutMs: timeoutFromEnv(process.env),
      retryTimeouts: false,
    });
  } catch {
    io.stderr.write(
      `✖ ${JSON.stringify(uri)} is not a valid URL\n  → pass --to http://host:5000 or set MLFLOW_TRACKING_URI\n${USAGE}\n`,
    );
    return 2;
  }
  const syncer = new StoreSyncer(root, client, (m) => io.stderr.write(`! ${m}\n`));
  try {
    const s = await syncer.syncAll(values.experiment);
    io.stdout.write(
      `synced ${root} → ${client.baseUrl}: ${s.created} new run(s), ${s.updated} updated, ${s.unchanged} unchanged${s.failed.length ? `, ${s.failed.length} failed` : ''}\n`,
    );
    for (const [name, id] of Object.entries(s.experiments)) io.stdout.write(`  ${name}: ${client.experimentUrl(id)}\n`);
    for (const f of s.failed) io.stderr.write(`✖ run ${f.runName} (${f.runId}): ${f.error}\n`);
    return s.failed.length ? 1 : 0;
  } catch (e) {
    io.stderr.write(
      isExpError(e)
        ? `${e.format()}\n`
        : `✖ ${(e as Error).message}\n  → what was pushed is recorded; run exp sync again when the server answers\n`,
    );
    return isExpError(e) ? exitCodeFor(e.code) : 1;
  }
}
