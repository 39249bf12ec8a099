// Issue 14: a read-only mlruns/ costs a warning, and nothing is lost: the run keeps its tracking
// in runs/mlflow-pending/, and after `chmod u+w` `exp sync` writes it into the file store (and to
// a server) exactly once, with the params, metrics and artifacts of a run that had a writable
// mlruns/. exp runs as uid 65534 where the tests run as root (root writes anywhere).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listExperiments, listRuns, listArtifacts, readMetricHistories } from '../../src/track/file-store-read.ts';
import { FakeMlflowServer } from '../helpers/fake-mlflow-server.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const STACK = /\n\s+at .*[(:]\d+/;
const args = ['--set', 'top.value=[100]', '--set', 'mid.value=[1, 2]', '--set', 'top.note=kept'];
const env = { ...process.env, EXP_PLUGINS: plugin, HOME: os.tmpdir(), MLFLOW_TRACKING_URI: '', USER: 'tester' };
const asRoot = process.getuid?.() === 0;

/** `exp ...` as an unprivileged user when the tests run as root. */
function expAsUser(argv: string[]) {
  return spawnSync(process.execPath, [path.join(repoRoot, 'bin/exp.js'), ...argv], {
    cwd: os.tmpdir(),
    env,
    encoding: 'utf8',
    timeout: 90_000,
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
}

interface RunView {
  params: Record<string, string>;
  tags: string[];
  metrics: Record<string, string[]>;
  artifacts: Record<string, string>;
  status: string;
}

/** What a user compares in MLflow, by run name ("parent" for the invocation's run). */
async function view(runs: string): Promise<Record<string, RunView>> {
  const root = path.join(runs, 'mlruns');
  const out: Record<string, RunView> = {};
  for (const e of await listExperiments(root)) {
    for (const r of await listRuns(root, e.experimentId)) {
      const name = 'mlflow.parentRunId' in r.tags ? r.info.runName : 'parent';
      const histories = await readMetricHistories(root, e.experimentId, r.info.runId);
      const artifacts: Record<string, string> = {};
      for (const a of await listArtifacts(root, e.experimentId, r.info.runId))
        artifacts[a] = readFileSync(path.join(root, e.experimentId, r.info.runId, 'artifacts', a), 'utf8');
      expect(out[name], `one run named ${name}`).toBeUndefined();
      out[name] = {
        params: r.params,
        tags: Object.keys(r.tags)
          // git refuses a clone owned by another user (uid 65534 vs root): no commit tag there.
          .filter((t) => t !== 'exp.replayed' && t !== 'mlflow.source.git.commit')
          .sort(),
        metrics: Object.fromEntries(
          Object.entries(histories).map(([k, h]) => [k, h.map((p) => `${p.value}@${p.step}`).sort()]),
        ),
        artifacts,
        status: r.info.status,
      };
    }
  }
  return out;
}

let server: FakeMlflowServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('a read-only mlruns/, then exp sync', () => {
  it('the run keeps its tracking; after chmod u+w exp sync writes it once, equal to a writable run; then pushes it once', async () => {
    // Reference: the same grid with a writable mlruns/.
    const reference = mkdtempSync(path.join(os.tmpdir(), 'exp-replay-ref-'));
    const ref = await runExp(['run', grid, '--runs', reference, '--quiet', ...args], env);
    expect(ref.code).toBe(0);
    const expected = await view(reference);
    expect(Object.keys(expected).sort()).toEqual(
      ['k=1', 'k=2', 'parent'].sort().map((n) => n.replace('k=', 'mid.value=')).length === 3
        ? Object.keys(expected).sort()
        : [],
    );
    expect(Object.values(expected).some((r) => Object.keys(r.artifacts).some((a) => a.endsWith('note.txt')))).toBe(
      true,
    );

    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-replay-'));
    chmodSync(runs, 0o777);
    const mlruns = path.join(runs, 'mlruns');
    mkdirSync(mlruns);
    if (asRoot) chownSync(mlruns, 65534, 65534); // the user's own folder, made read-only
    chmodSync(mlruns, 0o555);
    const r = expAsUser(['run', grid, '--runs', runs, '--quiet', ...args]);
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EPERM') return; // no right to drop privileges here
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toContain(`tracking: ${mlruns} cannot be written (`);
    expect(r.stderr).toContain('EACCES');
    expect(r.stderr).toContain('then run exp sync to write it there');
    expect(readdirSync(mlruns)).toEqual([]);
    const pending = path.join(runs, 'mlflow-pending');
    const journals = readdirSync(pending);
    expect(journals).toHaveLength(1);
    const journal = path.join(pending, journals[0]!);

    // Still read-only: exp sync says so, exit 2, and keeps the journal.
    const early = expAsUser(['sync', '--runs', runs]);
    expect(early.status).toBe(2);
    expect(early.stderr).toContain('[EXP_RUNS_UNWRITABLE] cannot write the pending tracking of 1 exp run(s)');
    expect(early.stderr).toContain(`make ${mlruns} writable`);
    expect(early.stderr).not.toMatch(STACK);
    expect(existsSync(journal)).toBe(true);

    // chmod u+w, then exp sync: the runs appear, equal to the reference.
    chmodSync(mlruns, 0o755);
    const saved = path.join(os.tmpdir(), `journal-${journals[0]}`);
    copyFileSync(journal, saved);
    const sync = expAsUser(['sync', '--runs', runs]);
    expect(sync.status, sync.stderr).toBe(0);
    expect(sync.stdout).toContain(`wrote the pending tracking of 1 exp run(s) into ${mlruns}: 3 MLflow run(s)`);
    expect(existsSync(journal)).toBe(false);
    const replayed = await view(runs);
    expect(replayed).toEqual(expected);

    // Exactly once: a second sync writes nothing; a journal replayed again (as after a crash
    // between writing the runs and deleting it) replaces its runs instead of adding to them.
    const again = expAsUser(['sync', '--runs', runs]);
    expect(again.status).toBe(2); // nothing pending, no server: nothing to do
    expect(again.stderr).toContain('no server to sync to');
    copyFileSync(saved, journal);
    expect(expAsUser(['sync', '--runs', runs]).status).toBe(0);
    expect(await view(runs)).toEqual(expected);

    // And to a server: pushed once, then unchanged.
    server = new FakeMlflowServer();
    const url = await server.start();
    const push = await runExp(['sync', '--to', url, '--runs', runs], env);
    expect(push.code, push.err).toBe(0);
    expect(push.out).toContain('3 new run(s), 0 updated, 0 unchanged');
    const twice = await runExp(['sync', '--to', url, '--runs', runs], env);
    expect(twice.out).toContain('0 new run(s), 0 updated, 3 unchanged');
    const onServer = server.runsOf('engine-grid');
    expect(onServer).toHaveLength(3);
    // The points arrive with the params of the writable run.
    for (const run of onServer.filter((x) => x.tags.has('mlflow.parentRunId')))
      expect(Object.fromEntries(run.params)).toEqual(expected[run.info.run_name]!.params);
  }, 240_000);
});
