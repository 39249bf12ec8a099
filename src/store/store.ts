// Content-addressed artifact store: one folder per node under <runs>/cache/<kind>/<key>/.
// A node's folder becomes visible only by an atomic rename of a complete temp folder whose
// manifest.json was written last, so a folder that exists is a finished node (a SIGKILL at any
// moment leaves at most an orphan under .tmp/, which `gc` removes). Claims (one lock file per
// node, created with O_EXCL) keep two `exp run` processes from computing one node at once.
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../atomic.ts';
import { ExpError } from '../errors.ts';
import { ownStartTime, processAlive } from '../process-identity.ts';

export interface ManifestMetric {
  key: string;
  value: number;
  step?: number;
  timestamp: number;
}

export interface NodeManifest {
  key: string;
  kind: string;
  kindVersion: string;
  stage: string;
  params: Record<string, unknown>;
  /** Upstream node keys in `needs` order, with their stage names. */
  inputs: { stage: string; key: string }[];
  outputs: Record<string, unknown>;
  /** Input items the stage passed over, with why (StageResult.skipped; absent when none). */
  skipped?: { item: string; reason: string }[];
  metrics: ManifestMetric[];
  artifacts: string[];
  /** Fingerprints of the data its path params pointed at when it ran (see plan/fingerprint.ts). */
  data?: Record<string, string>;
  /** A shard node of a sharded stage: its place among the stage's shards and its items `[id, digest]`. */
  shard?: { index: number; count: number; items: [string, string][] };
  /** Relative path → sha256 of every file the node wrote. */
  files: Record<string, { bytes: number; sha256: string }>;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  attempts: number;
  host: string;
  engineVersion: string;
}

export interface FailureRecord {
  key: string;
  kind: string;
  stage: string;
  error: string;
  code?: string;
  at: number;
  attempts: number;
  log: string;
}

export interface ClaimInfo {
  pid: number;
  /** The holder's start time (process-identity.ts): a reused pid is not the holder. */
  start?: number;
  host: string;
  at: number;
  owner: string;
}

export class ArtifactStore {
  readonly root: string;
  readonly cacheDir: string;
  readonly tmpDir: string;
  readonly lockDir: string;
  readonly logDir: string;
  readonly scratchRoot: string;
  readonly failedDir: string;
  /** Derived data shared across nodes (see StageContext.sharedDir). */
  readonly sharedDir: string;
  /** Identifies this process's claims. */
  readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /**
   * How long a claim held by another machine stays valid without a heartbeat (its holder renews it
   * every leaseMs/3 while computing); on this host a dead pid frees a claim at once.
   */
  readonly leaseMs: number = Number(process.env.EXP_CLAIM_LEASE_MS) || 30_000;

  constructor(runsDir: string) {
    this.root = path.resolve(runsDir);
    this.cacheDir = path.join(this.root, 'cache');
    this.tmpDir = path.join(this.cacheDir, '.tmp');
    this.failedDir = path.join(this.cacheDir, '.failed');
    this.sharedDir = path.join(this.cacheDir, '.shared');
    this.lockDir = path.join(this.root, 'locks');
    this.logDir = path.join(this.root, 'logs');
    this.scratchRoot = path.join(this.root, 'scratch');
  }

  async init(): Promise<void> {
    for (const d of [this.tmpDir, this.lockDir, this.logDir, this.scratchRoot, this.failedDir, this.sharedDir]) {
      await fs.mkdir(d, { recursive: true });
    }
    this.runsId ??= await this.readOrCreateIdentity();
  }

  private runsId: string | undefined;

  /**
   * This runs folder's identity: a random id written once, the first time any exp process opens
   * it (`.exp-runs-id`). Two paths to one shared folder (NFS mounted elsewhere) give the same id;
   * two different folders never do. Remote executors put the driver's id in every job, and a worker
   * whose folder says otherwise refuses the job rather than answer from its own cache. Set by init().
   */
  get identity(): string {
    if (!this.runsId) throw new Error('ArtifactStore.identity read before init()');
    return this.runsId;
  }

  private async readOrCreateIdentity(): Promise<string> {
    const file = path.join(this.root, '.exp-runs-id');
    const read = async (): Promise<string | undefined> => {
      try {
        const id = (JSON.parse(await fs.readFile(file, 'utf8')) as { id?: unknown }).id;
        return typeof id === 'string' && id ? id : undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ExpError(
          'EXP_RUNS_MISMATCH',
          `the runs folder's identity file ${file} is unreadable or damaged (${(e as Error).message})`,
          { hint: 'remove it only when no exp run or worker uses this folder: the next exp run writes a new one' },
        );
      }
    };
    const existing = await read();
    if (existing) return existing;
    // Written complete beside it, then linked into place: link() fails when another process was
    // first, and a reader never sees half a file.
    const id = randomBytes(12).toString('hex');
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(
      tmp,
      `${JSON.stringify({ id, createdAt: new Date().toISOString(), createdOn: os.hostname() })}\n`,
    );
    try {
      await fs.link(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await fs.rm(tmp, { force: true });
    }
    const id2 = await read();
    if (!id2) throw new ExpError('EXP_RUNS_MISMATCH', `could not write the runs folder's identity file ${file}`);
    return id2;
  }

  nodeDir(kind: string, key: string): string {
    return path.join(this.cacheDir, kind, key);
  }

  logPath(key: string): string {
    return path.join(this.logDir, `${key}.log`);
  }

  scratchDir(key: string): string {
    return path.join(this.scratchRoot, key);
  }

  /** The manifest of a finished node, or undefined. Synchronous: planning checks thousands. */
  readManifest(kind: string, key: string): NodeManifest | undefined {
    const file = path.join(this.nodeDir(kind, key), 'manifest.json');
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as NodeManifest;
    } catch {
      return undefined;
    }
  }

  has(kind: string, key: string): boolean {
    return existsSync(path.join(this.nodeDir(kind, key), 'manifest.json'));
  }

  /** All finished manifests of a kind (for "why" explanations and `exp ls`). */
  async listManifests(kind?: string): Promise<NodeManifest[]> {
    const kinds = kind ? [kind] : await this.kinds();
    const out: NodeManifest[] = [];
    for (const k of kinds) {
      let keys: string[] = [];
      try {
        keys = await fs.readdir(path.join(this.cacheDir, k));
      } catch {
        continue;
      }
      for (const key of keys) {
        const m = this.readManifest(k, key);
        if (m) out.push(m);
      }
    }
    return out;
  }

  listManifestsSync(kind: string): NodeManifest[] {
    let keys: string[] = [];
    try {
      keys = readdirSync(path.join(this.cacheDir, kind));
    } catch {
      return [];
    }
    return keys.map((key) => this.readManifest(kind, key)).filter((m): m is NodeManifest => Boolean(m));
  }

  async kinds(): Promise<string[]> {
    try {
      const entries = await fs.readdir(this.cacheDir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** A fresh, private temp folder for a node's outputs. */
  async beginWrite(key: string): Promise<string> {
    const dir = path.join(this.tmpDir, `${key}.${process.pid}.${randomBytes(3).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Hash the files of a temp folder, write its manifest last, and rename it into place.
   * Returns false when another process committed the same node first (ours is discarded:
   * same key, same inputs, so either copy is the node).
   */
  async commit(
    tmp: string,
    manifest: Omit<NodeManifest, 'files'>,
  ): Promise<{ committed: boolean; manifest: NodeManifest }> {
    const files = await hashTree(tmp);
    const full: NodeManifest = { ...manifest, files };
    const manifestTmp = path.join(tmp, 'manifest.json.part');
    await fs.writeFile(manifestTmp, `${JSON.stringify(full, null, 2)}\n`);
    await fs.rename(manifestTmp, path.join(tmp, 'manifest.json'));
    const finalDir = this.nodeDir(manifest.kind, manifest.key);
    await fs.mkdir(path.dirname(finalDir), { recursive: true });
    try {
      await fs.rename(tmp, finalDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') {
        await fs.rm(tmp, { recursive: true, force: true });
        const existing = this.readManifest(manifest.kind, manifest.key);
        if (existing) return { committed: false, manifest: existing };
      }
      throw e;
    }
    // A failure record of an earlier attempt no longer applies.
    const failed = path.join(this.failedDir, `${manifest.key}.json`);
    if (existsSync(failed)) await fs.rm(failed, { force: true });
    return { committed: true, manifest: full };
  }

  async abort(tmp: string): Promise<void> {
    await fs.rm(tmp, { recursive: true, force: true });
  }

  async recordFailure(rec: FailureRecord): Promise<void> {
    const file = path.join(this.failedDir, `${rec.key}.json`);
    await writeFileAtomic(file, `${JSON.stringify(rec, null, 2)}\n`);
  }

  readFailure(key: string): FailureRecord | undefined {
    try {
      return JSON.parse(readFileSync(path.join(this.failedDir, `${key}.json`), 'utf8')) as FailureRecord;
    } catch {
      return undefined;
    }
  }

  async removeNode(kind: string, key: string): Promise<void> {
    const dir = this.nodeDir(kind, key);
    if (!existsSync(dir)) return;
    // Rename out of sight first, so no reader ever sees a half-deleted node.
    const trash = path.join(this.tmpDir, `${key}.deleted.${randomBytes(3).toString('hex')}`);
    await fs.rename(dir, trash);
    await fs.rm(trash, { recursive: true, force: true });
  }

  // ── claims ────────────────────────────────────────────────────────────────────────────

  private lockPath(key: string): string {
    return path.join(this.lockDir, `${key}.lock`);
  }

  /**
   * Try to claim a node for this process. Returns 'claimed', or 'busy' with the holder when a
   * live process holds it. A claim left by a dead process on this host is taken over.
   */
  async claim(key: string): Promise<{ status: 'claimed' } | { status: 'busy'; holder: ClaimInfo }> {
    const file = this.lockPath(key);
    const info: ClaimInfo = {
      pid: process.pid,
      start: ownStartTime(),
      host: os.hostname(),
      at: Date.now(),
      owner: this.owner,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await fs.open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY);
        await fh.writeFile(JSON.stringify(info));
        await fh.close();
        return { status: 'claimed' };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = this.readClaim(key);
      if (holder && holder.owner === this.owner) return { status: 'claimed' };
      if (holder && !this.claimIsStale(holder, key)) return { status: 'busy', holder };
      // Stale (dead pid on this host) or unreadable half-written claim older than a moment.
      if (!holder) {
        const st = await fs.stat(file).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs < 2000) {
          return { status: 'busy', holder: { pid: 0, host: '?', at: st.mtimeMs, owner: '?' } };
        }
      }
      await fs.rm(file, { force: true });
    }
    const holder = this.readClaim(key) ?? { pid: 0, host: '?', at: 0, owner: '?' };
    return { status: 'busy', holder };
  }

  readClaim(key: string): ClaimInfo | undefined {
    try {
      return JSON.parse(readFileSync(this.lockPath(key), 'utf8')) as ClaimInfo;
    } catch {
      return undefined;
    }
  }

  /** Heartbeat of a held claim: its file's mtime says the holder is alive. */
  async renewClaim(key: string): Promise<void> {
    const now = new Date();
    await fs.utimes(this.lockPath(key), now, now);
  }

  /** A claim is stale when its holder is a dead pid on this host, or its lease ran out. */
  private claimIsStale(holder: ClaimInfo, key: string): boolean {
    if (holder.host === os.hostname()) return !processAlive(holder.pid, holder.start);
    try {
      return Date.now() - statSync(this.lockPath(key)).mtimeMs > this.leaseMs;
    } catch {
      return true;
    }
  }

  /** Drop this process's claim; `owned` skips the check when the caller knows it holds it. */
  async release(key: string, owned = false): Promise<void> {
    if (!owned) {
      const holder = this.readClaim(key);
      if (holder && holder.owner !== this.owner) return;
    }
    await fs.rm(this.lockPath(key), { force: true });
  }

  /** Remove orphaned temp folders and stale claims. Returns what was removed. */
  async gc(): Promise<{ tmp: number; locks: number }> {
    let tmp = 0;
    let locks = 0;
    for (const name of await fs.readdir(this.tmpDir).catch(() => [] as string[])) {
      const pid = Number(name.split('.')[1]);
      if (Number.isFinite(pid) && pid !== process.pid && processAlive(pid)) continue;
      await fs.rm(path.join(this.tmpDir, name), { recursive: true, force: true });
      tmp++;
    }
    for (const name of await fs.readdir(this.lockDir).catch(() => [] as string[])) {
      const key = name.replace(/\.lock$/, '');
      const holder = this.readClaim(key);
      if (!holder || this.claimIsStale(holder, key)) {
        await fs.rm(path.join(this.lockDir, name), { force: true });
        locks++;
      }
    }
    return { tmp, locks };
  }
}

async function hashTree(dir: string): Promise<Record<string, { bytes: number; sha256: string }>> {
  const out: Record<string, { bytes: number; sha256: string }> = {};
  async function walk(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && r !== 'manifest.json') {
        const buf = await fs.readFile(path.join(dir, r));
        out[r] = { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
      }
    }
  }
  await walk('');
  return out;
}
