// `exp sync [--to URI] [--experiment NAME]`: push the local file store to a tracking server.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exitCodeFor } from '../../error-codes.ts';
import { ExpError, isExpError } from '../../errors.ts';
// The command's own modules load when it runs: `exp --help` and `exp <command> --help` read only
// the declaration below (see test/engine/startup-imports.test.ts).
import { type CommandSpec, helpText, parseCommand, str } from '../args.ts';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

export const syncSpec: CommandSpec = {
  name: 'sync',
  usage: 'sync [--to http(s)://host:port] [--experiment NAME]',
  summary: 'Push local MLflow runs to a tracking server (idempotent, resumable).',
  description:
    'First writes the tracking of runs whose mlruns/ could not be written (<runs>/mlflow-pending) into\n' +
    '<runs>/mlruns, then pushes the runs in <runs>/mlruns to an MLflow server (default: $MLFLOW_TRACKING_URI);\n' +
    'running it again pushes only what is new.',
  options: [
    { name: 'to', type: 'string', value: 'URI', description: 'the MLflow server (default MLFLOW_TRACKING_URI)' },
    { name: 'experiment', type: 'string', value: 'NAME', description: 'push only this experiment' },
  ],
  examples: [
    'exp sync --to http://127.0.0.1:5000',
    'MLFLOW_TRACKING_URI=http://mlflow.lab:5000 exp sync --experiment ava-fewshot --runs /shared/runs',
  ],
  success: 'everything is pushed (or, without a server, the pending tracking is written)',
  otherExits: [[1, 'some runs could not be pushed (run exp sync again; what was pushed is recorded)']],
  errors: ['EXP_RUNS_UNWRITABLE'],
  without: ['plugin'],
};

export async function syncCommand(argv: string[], io: Io, runsDir: string): Promise<number> {
  try {
    return await sync(argv, io, runsDir);
  } catch (e) {
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  }
}

async function sync(argv: string[], io: Io, runsDir: string): Promise<number> {
  const { values, positionals } = parseCommand(syncSpec, argv);
  if (values.help) {
    io.stdout.write(helpText(syncSpec));
    return 0;
  }
  if (positionals.length > 0)
    throw new ExpError('EXP_ARGS_INVALID', `exp sync takes no arguments (got ${positionals.join(' ')})`, {
      hint: `usage: exp ${syncSpec.usage}`,
    });
  const { pendingDir, replayPending } = await import('../../track/journal.ts');
  const { authFromEnv, isHttpUri, MlflowRestClient, retryFromEnv, timeoutFromEnv } = await import(
    '../../track/rest-client.ts'
  );
  const { StoreSyncer } = await import('../../track/sync.ts');
  const uri = str(values.to) ?? process.env.MLFLOW_TRACKING_URI;
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
    if (!isHttpUri(uri) && str(values.to) === undefined) return 0; // nothing to push to: the file store was the goal
  }
  if (!isHttpUri(uri)) {
    throw new ExpError(
      'EXP_ARGS_INVALID',
      uri ? `${JSON.stringify(uri)} is not an http(s) tracking server` : 'no server to sync to',
      { hint: 'pass --to http://host:5000 or set MLFLOW_TRACKING_URI' },
    );
  }
  let client: InstanceType<typeof MlflowRestClient>;
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
    throw new ExpError('EXP_ARGS_INVALID', `${JSON.stringify(uri)} is not a valid URL`, {
      hint: 'pass --to http://host:5000 or set MLFLOW_TRACKING_URI',
    });
  }
  const syncer = new StoreSyncer(root, client, (m) => io.stderr.write(`! ${m}\n`));
  try {
    const s = await syncer.syncAll(str(values.experiment));
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
