// `exp sync [--to URI] [--experiment NAME]`: push the local file store to a tracking server.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitCodeFor } from '../../error-codes.ts';
import { ExpError, isExpError } from '../../errors.ts';
import { pendingDir, replayPending } from '../../track/journal.ts';
import { authFromEnv, isHttpUri, MlflowRestClient, retryFromEnv, timeoutFromEnv } from '../../track/rest-client.ts';
import { StoreSyncer } from '../../track/sync.ts';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const USAGE =
  'usage: exp sync [--to http(s)://host:port] [--experiment NAME]\n  writes the tracking of runs whose mlruns/ could not be written (<runs>/mlflow-pending) into <runs>/mlruns, then\n  pushes the runs in <runs>/mlruns to an MLflow server (default: $MLFLOW_TRACKING_URI); running it again pushes only what is new';

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
  const root = join(runsDir, 'mlruns');
  // First what runs could not write into mlruns/ (read-only then): into the file store, once.
  const pending = (await readdir(pendingDir(runsDir)).catch(() => [] as string[])).filter((n) => n.endsWith('.jsonl'));
  if (pending.length) {
    try {
      const r = await replayPending(runsDir, (m) => io.stderr.write(`! ${m}\n`));
      io.stdout.write(
        `wrote the pending tracking of ${r.invocations} exp run(s) into ${root}: ${r.runs} MLflow run(s)${r.artifactsMissing ? `, ${r.artifactsMissing} artifact(s) gone` : ''}\n`,
      );
    } catch (e) {
      const err = new ExpError(
        'EXP_RUNS_UNWRITABLE',
        `cannot write the pending tracking of ${pending.length} exp run(s) (${pendingDir(runsDir)}) into ${root}: ${(e as Error).message.split('\n')[0]}`,
        { hint: `make ${root} writable (chmod -R u+w ${root}), then run exp sync again; nothing was lost` },
      );
      io.stderr.write(`${err.format()}\n`);
      return exitCodeFor(err.code);
    }
    if (!isHttpUri(uri) && values.to === undefined) return 0; // nothing to push to: the file store was the goal
  }
  if (!isHttpUri(uri)) {
    io.stderr.write(
      `✖ ${uri ? `${JSON.stringify(uri)} is not an http(s) tracking server` : 'no server to sync to'}\n  → pass --to http://host:5000 or set MLFLOW_TRACKING_URI\n${USAGE}\n`,
    );
    return 2;
  }
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
