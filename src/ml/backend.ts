// The one place that chooses the tfjs backend (`exp doctor` prints its choice and why): tfjs-node-gpu or tfjs-node when installed
// AND their native binding exists (their install downloads libtensorflow, which fails offline),
// else wasm (SIMD, ~10x faster than cpu here), else the pure-JS cpu backend.
// `make native` builds tfjs-node against the tensorflow-cpu wheel's C library into .native/ (outside
// node_modules, so `npm ci` keeps it); it is looked for there first (EXP_TF_NATIVE_DIR overrides).
// Every other module imports `tf` from here, never from '@tensorflow/tfjs' directly.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfjs from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';

export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

const require = createRequire(import.meta.url);

export let tf: typeof tfjs = tfjs;

let chosen: BackendName | undefined;
let pending: Promise<BackendName> | undefined;
/** Why a faster backend was passed over (for the log of a task that was given a GPU). */
const passedOver = new Map<BackendName, string>();

/** The folder `make native` builds into (EXP_TF_NATIVE_DIR, else `.native` at the checkout's root). */
export function nativeDir(): string {
  return (
    process.env.EXP_TF_NATIVE_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.native')
  );
}

/** Where `pkg` lives: `make native`'s folder first, then node_modules; undefined when in neither. */
function nativeRoot(pkg: string): string | undefined {
  const built = path.join(nativeDir(), 'node_modules', ...pkg.split('/'));
  if (existsSync(path.join(built, 'package.json'))) return built;
  try {
    const main = require.resolve(pkg);
    return main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`));
  } catch {
    return undefined;
  }
}

function nativeProblem(pkg: string): string | undefined {
  const root = nativeRoot(pkg);
  if (!root)
    return pkg === '@tensorflow/tfjs-node'
      ? `${pkg} is not built (run \`make native\`)`
      : `${pkg} is not installed (needs CUDA and the GPU tensorflow wheel; see docs/performance.md)`;
  if (!existsSync(path.join(root, 'lib', 'napi-v8', 'tfjs_binding.node')))
    return pkg === '@tensorflow/tfjs-node-gpu'
      ? `${pkg} is installed without its native binding (its install script, which downloads the CUDA build of libtensorflow, is opt-in: docs/performance.md)`
      : `${pkg} is at ${root} without its native binding (run \`make native\`)`;
  // Its kernels register on exp's tfjs-core: a tfjs upgrade without a rebuild would mix versions.
  const version = (file: string): string | undefined => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  const mine = version(path.join(root, 'package.json'));
  const core = version(require.resolve('@tensorflow/tfjs-core/package.json'));
  if (mine !== core)
    return `${pkg} ${mine} does not match @tensorflow/tfjs-core ${core} (run \`make native-clean native\`)`;
  return undefined;
}

/**
 * TensorFlow's own thread pools: TF reads TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS when its
 * eager context starts (0 or unset: one per core). EXP_TF_THREADS sets both unless they are set.
 */
function setNativeThreads(): void {
  const n = process.env.EXP_TF_THREADS;
  if (n && /^[1-9][0-9]*$/.test(n)) {
    process.env.TF_NUM_INTRAOP_THREADS ??= n;
    process.env.TF_NUM_INTEROP_THREADS ??= n;
  }
  // TensorFlow's C++ INFO lines (oneDNN notices, CPU feature flags) are not exp's to print.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
}

/** TensorFlow's thread settings as the native backend started with them (for logs and benches). */
export function nativeThreads(): string {
  const intra = process.env.TF_NUM_INTRAOP_THREADS;
  const inter = process.env.TF_NUM_INTEROP_THREADS;
  return `TF intra-op threads ${intra ?? 'default (one per core)'}, inter-op ${inter ?? 'default (one per core)'}`;
}

async function tryNative(pkg: string): Promise<boolean> {
  const root = nativeRoot(pkg);
  if (!root || nativeProblem(pkg)) return false;
  try {
    setNativeThreads();
    const mod = require(root) as typeof tfjs;
    tf = mod;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return true;
  } catch (e) {
    nativeError = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    tf = tfjs;
    return false;
  }
}

let nativeError: string | undefined;

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dist + path.sep);
    const ok = await tf.setBackend('wasm');
    if (!ok) return false;
    await tf.ready();
    // Conv2DBackpropFilter / UnsortedSegmentSum are missing from wasm: without them conv2d and
    // embeddings cannot train there (src/ml/wasm-kernels.ts).
    registerWasmTrainingKernels(tf);
    return true;
  } catch {
    return false;
  }
}

function preferenceFromEnv(): BackendPreference {
  const v = process.env.EXP_TF_BACKEND;
  if (v === 'node-gpu' || v === 'node' || v === 'wasm' || v === 'cpu' || v === 'auto') return v;
  return 'auto';
}

/**
 * Initialise the backend once per process (each worker thread has its own engine).
 * `prefer` (or EXP_TF_BACKEND) picks one; `auto` tries node-gpu, node, wasm, cpu in that order.
 */
export function initBackend(prefer: BackendPreference = preferenceFromEnv()): Promise<BackendName> {
  if (pending) return pending;
  pending = (async () => {
    const order: BackendName[] =
      prefer === 'auto'
        ? ['node-gpu', 'node', 'wasm', 'cpu']
        : [prefer, ...(['wasm', 'cpu'] as BackendName[]).filter((b) => b !== prefer)];
    // Only one native package per process: requiring one registers kernels even if it then throws.
    let nativeTried = false;
    for (const name of order) {
      if (name === 'node-gpu' || name === 'node') {
        if (nativeTried) continue;
        const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
        const problem = nativeProblem(pkg);
        if (problem) {
          passedOver.set(name, problem);
          continue;
        }
        nativeTried = true;
        if (await tryNative(pkg)) return (chosen = name);
        passedOver.set(
          name,
          `${pkg} failed to start: ${nativeError ?? 'unknown error'}${name === 'node-gpu' ? ' (CUDA / cuDNN missing?)' : ''}`,
        );
      } else if (name === 'wasm') {
        if (await tryWasm()) return (chosen = 'wasm');
      } else {
        await tf.setBackend('cpu');
        await tf.ready();
        return (chosen = 'cpu');
      }
    }
    await tf.setBackend('cpu');
    return (chosen = 'cpu');
  })();
  return pending;
}

/** Why each faster backend was passed over by initBackend() (empty before it ran). */
export function passedOverBackends(): Partial<Record<BackendName, string>> {
  return Object.fromEntries(passedOver);
}

/**
 * One log line on the backend for a task given `gpus`: which one runs, and when GPUs were
 * granted but the GPU build is not what runs, why it fell back.
 */
export function describeBackend(gpus: readonly number[]): string {
  const name = chosen ?? 'uninitialised';
  if (!gpus.length) {
    if (name === 'node') return `tfjs backend: node (TensorFlow C library; ${nativeThreads()})`;
    const why = passedOver.get('node');
    if (why) return `tfjs backend: ${name} — native passed over: ${why}`;
    const forced = process.env.EXP_TF_BACKEND;
    return forced && forced !== 'auto' ? `tfjs backend: ${name} (EXP_TF_BACKEND=${forced})` : `tfjs backend: ${name}`;
  }
  if (name === 'node-gpu') return `tfjs backend: node-gpu on GPU ${gpus.join(',')}`;
  const why =
    passedOver.get('node-gpu') ??
    (process.env.EXP_TF_BACKEND ? `EXP_TF_BACKEND=${process.env.EXP_TF_BACKEND}` : 'another backend was chosen first');
  return `tfjs backend: ${name} — granted GPU ${gpus.join(',')} but fell back to ${name}: ${why}; install @tensorflow/tfjs-node-gpu (CUDA 11.x, cuDNN 8) to use it`;
}
