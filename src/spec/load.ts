// loadSpec: file → extends → --set → schema → matrix → per point: interpolation, graph checks,
// params (defaults, path params) → ResolvedPoints. Every problem is collected and thrown at once.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { canonicalJson, deepFreeze, shortHash } from '../canonical.ts';
import { loadWithExtends, siblingSuggestion } from './extends.ts';
import { checkGraph, type GraphResult } from './graph.ts';
import { buildSiteTrie, findTemplates, interpolate, type SiteTrie } from './interpolate.ts';
import { hintFor, IssueList, SpecError } from './issues.ts';
import { absolutePath, deleteAt, formatPath, parseKeyPath, pathKey, setAt } from './key-path.ts';
import { dropOverriddenForms } from './exclusive.ts';
import { Locator } from './locate.ts';
import {
  expandMatrix,
  pointName,
  resolveWrittenPath,
  type Assigned,
  type Assignment,
  type MatrixContext,
} from './matrix.ts';
import { absolutePathParam, ParamsChecker, pathMismatch } from './params.ts';
import {
  executorSettingKeys,
  getExperimentSchema,
  isInterpolatedError,
  mapAjvErrors,
  validateExperiment,
} from './schema.ts';
import {
  isRecord,
  nonFiniteIssue,
  nonFiniteNumbers,
  uniformSrc,
  unsafeIntegerIssue,
  unsafeIntegers,
  withSafeIntegers,
  type Origin,
  type SrcNode,
} from './source.ts';
import type {
  ExecutorLookup,
  InputLook,
  InputProblem,
  KindInfo,
  LoadedSpec,
  LoadOptions,
  ResolvedPoint,
  ResolvedStage,
  SpecIssue,
} from './types.ts';
import { isExpError } from '../errors.ts';
import { didYouMean } from './did-you-mean.ts';
import { NO_PORTS, WiringMemo, type WireResult } from './ports.ts';

/** Keys of a stage that change how it runs, never what it computes. */
const HOW_A_STAGE_RUNS = new Set(['resources', 'retries', 'shards', 'shard_size']);

interface StageDoc {
  uses: string;
  needs?: string[];
  with?: Record<string, unknown>;
  resources?: { cpus?: number; gpus?: number; memory_mb?: number };
  retries?: number;
  shards?: number | 'auto';
  shard_size?: number;
}

/** The shapes the per-point code relies on (the schema reports what is wrong otherwise). */
function isSound(doc: Record<string, unknown>): boolean {
  if (!isRecord(doc.stages)) return false;
  if (doc.settings !== undefined && !isRecord(doc.settings)) return false;
  const targets = isRecord(doc.settings) ? doc.settings.targets : undefined;
  if (targets !== undefined && !(Array.isArray(targets) && targets.every((t) => typeof t === 'string'))) return false;
  for (const stage of Object.values(doc.stages)) {
    if (!isRecord(stage) || typeof stage.uses !== 'string') return false;
    if (stage.needs !== undefined && !(Array.isArray(stage.needs) && stage.needs.every((n) => typeof n === 'string')))
      return false;
    if (stage.with !== undefined && !isRecord(stage.with)) return false;
    if (stage.resources !== undefined && !isRecord(stage.resources)) return false;
  }
  return true;
}

function setSrcAt(node: SrcNode, segments: readonly string[], leaf: SrcNode, i = 0): SrcNode {
  if (i === segments.length) return leaf;
  const children = new Map(node.children ?? []);
  const child = children.get(segments[i]!) ?? { at: leaf.at, keyAt: leaf.at };
  children.set(segments[i]!, setSrcAt(child, segments, leaf, i + 1));
  return { ...node, children };
}

function deleteSrcAt(node: SrcNode, segments: readonly string[], i = 0): SrcNode {
  const child = node.children?.get(segments[i]!);
  if (!child) return node;
  const children = new Map(node.children);
  if (i === segments.length - 1) children.delete(segments[i]!);
  else children.set(segments[i]!, deleteSrcAt(child, segments, i + 1));
  return { ...node, children };
}

/** The matrix key naming the same key path as `written` (`finetune.k` ~ `stages.finetune.with.k`). */
function matrixAxisFor(doc: Record<string, unknown>, written: string): string | undefined {
  if (!isRecord(doc.matrix)) return undefined;
  let target: string;
  try {
    target = pathKey(absolutePath(parseKeyPath(written)));
  } catch {
    return undefined;
  }
  for (const label of Object.keys(doc.matrix)) {
    if (label === 'include' || label === 'exclude') continue;
    try {
      if (pathKey(absolutePath(parseKeyPath(label))) === target) return label;
    } catch {
      // a malformed matrix key is reported with the matrix
    }
  }
  return undefined;
}

/** Index of the `=` splitting `PATH=VALUE` (outside backquotes and brackets). */
function splitSet(text: string): number {
  let quote = false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '`') quote = !quote;
    else if (!quote && ch === '[') depth++;
    else if (!quote && ch === ']') depth--;
    else if (!quote && depth === 0 && ch === '=') return i;
  }
  return -1;
}

/** `stages.<name>.with.…`: checked by the kind's schema, not the experiment schema. */
function isUnderWith(segments: readonly string[]): boolean {
  return segments.length >= 3 && segments[0] === 'stages' && segments[2] === 'with';
}

function isPrefix(prefix: readonly string[], segments: readonly string[]): boolean {
  if (prefix.length > segments.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== segments[i]) return false;
  return true;
}

/**
 * Loads and checks a spec; with `checkInputs` (the default) the kinds then look inside the data
 * folders the kept stages name, and every problem found is thrown at once.
 */
export async function loadSpec(file: string, options: LoadOptions): Promise<LoadedSpec> {
  const loader = new SpecLoader(options);
  const spec = loader.load(file);
  await loader.checkInputs();
  return spec;
}

/** Where a relative path param resolves from: the folder of the file that defined its value. */
interface PathBase {
  segments: string[];
  value: string;
  baseDir: string;
  origin: Origin;
  via?: string[];
}

/** One point's doc after the matrix assignment and interpolation, with how to locate its values. */
interface PointDoc {
  pdoc: Record<string, unknown>;
  locator: Locator;
  interpolated: ReturnType<typeof interpolate>;
  outsideWith: boolean;
}

/**
 * Spec file → validated grid points, in named steps: read (extends), apply `--set`, validate the
 * whole doc, expand the matrix, then per point interpolate, check the graph, resolve each stage's
 * params and paths, wire its ports; finally narrow shared producers over the grid and hash points.
 * Every problem found on the way is collected; SpecError lists them all at the end.
 */
class SpecLoader {
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly issues = new IssueList();
  private readonly checker: ParamsChecker;
  private readonly matrixCtx: MatrixContext;
  private readonly trieCache = new Map<string, SiteTrie>();
  private readonly graphMemo = new Map<string, GraphResult>();
  private readonly intern = new WeakMap<object, { values: unknown[]; copy: object }[]>();
  // A stage object resolved identically in several points gives one (frozen) ResolvedStage.
  private readonly stageHashText = new Map<ResolvedStage, string>();
  private readonly stageMemo = new WeakMap<
    object,
    Map<string, { rs: ResolvedStage; configStage: Record<string, unknown> }>
  >();
  private readonly wiringMemo = new WiringMemo();
  /** `--set` values that are not matrix axes, in command-line order: they define every point too. */
  private readonly setOverrides: Assigned[] = [];
  // One input check per distinct resolved params object (points share them when unchanged).
  private readonly inputChecks = new Map<object, InputCheck>();

  constructor(private readonly options: LoadOptions) {
    this.cwd = options.cwd ?? process.cwd();
    this.env = options.env ?? process.env;
    this.checker = new ParamsChecker(options.kinds);
    this.matrixCtx = {
      kinds: options.kinds,
      executors: options.executors,
      place: (at) => this.place(at),
      issue: (i) => this.issues.add(i),
    };
  }

  private display(f: string): string {
    if (!isAbsolute(f)) return f;
    const rel = relative(this.cwd, f);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : f;
  }

  private place(at: Origin): { file: string; line: number; col: number } {
    return { file: this.display(at.file), line: at.line, col: at.col };
  }

  private fail(): never {
    throw new SpecError(this.issues.items);
  }

  load(file: string): LoadedSpec {
    const specFile = resolve(this.cwd, file);
    if (!existsSync(specFile)) {
      throw new SpecError([
        {
          code: 'file_missing',
          path: '',
          message: `spec file not found: ${file}`,
          file: this.display(specFile),
          line: 0,
          col: 0,
          hint: hintFor(siblingSuggestion(specFile)),
        },
      ]);
    }
    const files: string[] = [];
    const layers: string[] = [];
    const loaded = loadWithExtends(specFile, { issues: this.issues, files, layers, display: (f) => this.display(f) });
    if (!loaded || this.issues.size > 0) this.fail();
    const set = this.applySets(loaded.value as Record<string, unknown>, loaded.src);
    // The most specific layer wins: a --set over the spec file over the files it extends.
    const precedence = (at: Origin): number => (at.file.startsWith('--set ') ? layers.length : layers.indexOf(at.file));
    const { doc, src } = dropOverriddenForms(set.doc, set.src, this.options.kinds, precedence);

    const baseLocator = new Locator(src);
    const baseErrors = validateExperiment(doc, this.options.executors).filter((e) => !isInterpolatedError(e));
    for (const issue of mapAjvErrors(baseErrors, { locator: baseLocator, display: (f) => this.display(f) }))
      this.issues.add(issue);
    // A shape the per-point code cannot walk: stop here, unless only `${...}` strings stand where
    // lists or maps belong (those are resolved and checked again in each point).
    if (!isSound(doc) && this.issues.size > 0) this.fail();

    // A broken matrix is reported; the stages are still checked (as one point) so that every
    // problem shows at once.
    const assignments = expandMatrix(doc, src.children?.get('matrix'), this.matrixCtx) ?? [
      { entries: [], included: false },
    ];
    // Frozen: every point shares the unchanged parts of the doc (and their canonical JSON).
    const { matrix: _matrix, ...pointBase } = deepFreeze({ ...doc });
    const base = { doc: pointBase, src, locator: baseLocator, sites: findTemplates(pointBase) };
    const wired: WiredPoint[] = [];
    for (const assignment of assignments) {
      const point = this.wirePoint(assignment, base);
      if (point) wired.push(point);
    }
    const points = this.issues.size === 0 ? this.finishPoints(wired) : [];
    if (this.issues.size === 0 && points.length === 0) {
      const at = src.children?.get('matrix');
      this.issues.add({
        code: 'empty_grid',
        path: 'matrix',
        message: 'the matrix gives no points: exclude removes every combination',
        ...this.place(at?.keyAt ?? at?.at ?? src.at),
        hint: 'loosen the exclude entries or add include entries',
      });
    }
    if (this.issues.size > 0) this.fail();

    const settings = wired[0]!.settings;
    return {
      file: specFile,
      name: String(points[0]!.config.name),
      description: typeof doc.description === 'string' ? doc.description : undefined,
      settings: {
        seed: typeof settings.seed === 'number' ? settings.seed : 0,
        jobs: typeof settings.jobs === 'number' ? settings.jobs : undefined,
        retries: typeof settings.retries === 'number' ? settings.retries : 0,
        targets: wired[0]!.targets,
        ...executorSettings(settings, this.options.executors),
      },
      points,
      resolvedYaml: stringify(doc),
      files,
    };
  }

  /** `--set PATH=VALUE`, after extends and before the matrix; on a matrix axis it replaces the axis. */
  private applySets(doc: Record<string, unknown>, src: SrcNode): { doc: Record<string, unknown>; src: SrcNode } {
    for (const text of this.options.sets ?? []) {
      const origin: Origin = { file: `--set ${text}`, line: 0, col: 0 };
      const eq = splitSet(text);
      if (eq <= 0) {
        this.issues.add({
          code: 'invalid_set',
          path: '',
          message: `--set expects PATH=VALUE, got "${text}"`,
          ...this.place(origin),
          hint: "e.g. --set finetune.k=20 or --set 'finetune.k=[20,50]'",
        });
        continue;
      }
      const pathText = text.slice(0, eq).trim();
      const parsed = parseDocument(text.slice(eq + 1), { intAsBigInt: true });
      if (parsed.errors.length > 0) {
        this.issues.add({
          code: 'invalid_set',
          path: pathText,
          message: `--set ${pathText}: the value is not valid YAML: ${parsed.errors[0]!.message.split('\n')[0]}`,
          ...this.place(origin),
          hint: 'quote the whole argument for the shell, and the value for YAML if needed',
        });
        continue;
      }
      let value: unknown;
      try {
        value = withSafeIntegers(parsed.toJS({ maxAliasCount: 100 }));
      } catch (e) {
        this.issues.add({
          code: 'invalid_set',
          path: pathText,
          message: `--set ${pathText}: ${(e as Error).message}`,
          ...this.place(origin),
          hint: 'write the value out without aliases',
        });
        continue;
      }
      if (value === null && /^\s*(null|Null|NULL|~)\s*$/.test(text.slice(eq + 1))) {
        // `--set k=null` unsets k, as a `k: null` in a file that extends another does.
        const unset = this.unset(doc, src, pathText, origin);
        doc = unset.doc;
        src = unset.src;
        continue;
      }
      const nonFinite = nonFiniteNumbers(value);
      const unsafe = unsafeIntegers(value);
      if (nonFinite.length > 0 || unsafe.length > 0) {
        for (const bad of nonFinite) this.issues.add({ ...nonFiniteIssue(bad), path: pathText, ...this.place(origin) });
        for (const bad of unsafe)
          this.issues.add({ ...unsafeIntegerIssue(bad), path: pathText, ...this.place(origin) });
        continue;
      }
      // `--set 'matrix.finetune.k=[0,5]'` sweeps a key from the command line: the axis is added to
      // (or replaces one of) the matrix, and is checked with it as if the file had it.
      if (pathText === 'matrix' || pathText.startsWith('matrix.')) {
        const set = this.matrixSet(doc, pathText, value, origin);
        if (set) {
          doc = setAt(doc, set.segments, set.value) as Record<string, unknown>;
          src = setSrcAt(src, set.segments, uniformSrc(set.value, origin));
        }
        continue;
      }
      // On a matrix axis, --set replaces the axis's values (`--set 'finetune.k=[20,50]'` runs two
      // points; a single value runs one): the matrix would overwrite a plain value anyway.
      const axis = matrixAxisFor(doc, pathText);
      if (axis !== undefined) {
        const values = Array.isArray(value) ? value : [value];
        doc = setAt(doc, ['matrix', axis], values) as Record<string, unknown>;
        src = setSrcAt(src, ['matrix', axis], uniformSrc(values, origin));
        continue;
      }
      const segments = resolveWrittenPath(pathText, doc, this.matrixCtx, origin, pathText);
      if (!segments) continue;
      doc = setAt(doc, segments, value) as Record<string, unknown>;
      src = setSrcAt(src, segments, uniformSrc(value, origin));
      this.recordOverride(pathText, segments, value, origin);
    }
    return { doc, src };
  }

  /** A --set value outside the matrix: part of every point's name and overrides (the last one of a key wins). */
  private recordOverride(label: string, segments: string[], value: unknown, origin: Origin): void {
    // Settings other than the seed change how a grid runs, not what a point is (not in its id).
    if (segments[0] === 'settings' && segments[1] !== 'seed') return;
    // So do a stage's resources, retries and sharding (not in its node key: a sharded stage gathers
    // the unsharded node's outputs).
    if (segments[0] === 'stages' && segments.length >= 3 && HOW_A_STAGE_RUNS.has(segments[2]!)) return;
    const same = this.setOverrides.findIndex((o) => pathKey(o.segments) === pathKey(segments));
    if (same >= 0) this.setOverrides.splice(same, 1);
    this.setOverrides.push({ label, segments, value, src: uniformSrc(value, origin) });
  }

  /**
   * `--set matrix.PATH=[...]` (an axis: a non-empty list), `--set matrix.include=[...]` /
   * `matrix.exclude=[...]`, or `--set matrix={...}`: where to put the value in the doc, or
   * undefined after reporting why it cannot go there. The axis path itself is checked when the
   * matrix is expanded, exactly as one written in the file.
   */
  private matrixSet(
    doc: Record<string, unknown>,
    pathText: string,
    value: unknown,
    origin: Origin,
  ): { segments: string[]; value: unknown } | undefined {
    if (pathText === 'matrix') return { segments: ['matrix'], value };
    const label = pathText.slice('matrix.'.length).trim();
    if (label === 'include' || label === 'exclude') return { segments: ['matrix', label], value };
    if (!Array.isArray(value) || value.length === 0) {
      this.issues.add({
        code: 'invalid_set',
        path: pathText,
        message: `--set ${pathText}: a matrix axis takes a non-empty list of values, got ${JSON.stringify(value)}`,
        ...this.place(origin),
        hint: `e.g. --set '${pathText}=[${Array.isArray(value) ? '0, 5' : JSON.stringify(value)}]'`,
      });
      return undefined;
    }
    return { segments: ['matrix', matrixAxisFor(doc, label) ?? label], value };
  }

  /** `--set PATH=null`: the key (or the matrix axis on it) removed. */
  private unset(
    doc: Record<string, unknown>,
    src: SrcNode,
    pathText: string,
    origin: Origin,
  ): { doc: Record<string, unknown>; src: SrcNode } {
    // `--set matrix.finetune.k=null`: that axis of the matrix removed
    const matrixLabel = pathText.startsWith('matrix.') ? pathText.slice('matrix.'.length).trim() : undefined;
    const axis = matrixAxisFor(doc, matrixLabel ?? pathText);
    const segments =
      axis !== undefined
        ? ['matrix', axis]
        : matrixLabel !== undefined
          ? ['matrix', matrixLabel]
          : resolveWrittenPath(pathText, doc, this.matrixCtx, origin, pathText);
    if (!segments) return { doc, src };
    // A key unset outside the matrix defines the points as a --set value does (`lr=null`).
    if (segments[0] !== 'matrix') this.recordOverride(pathText, segments, null, origin);
    return { doc: deleteAt(doc, segments) as Record<string, unknown>, src: deleteSrcAt(src, segments) };
  }

  /** One matrix point: interpolated, graph checked, stages resolved and wired (undefined when broken). */
  private wirePoint(
    assignment: Assignment,
    base: { doc: Record<string, unknown>; src: SrcNode; locator: Locator; sites: string[][] },
  ): WiredPoint | undefined {
    const point = this.interpolatePoint(assignment, base);
    if (!point) return undefined;
    const { pdoc, locator } = point;
    const stages = pdoc.stages as Record<string, StageDoc>;
    const settings = (pdoc.settings ?? {}) as Record<string, unknown>;
    const graph = this.checkPointGraph(stages, settings.targets as string[] | undefined, locator);
    const { resolved, configStages, ok } = this.resolveStages(stages, point);
    if (!ok || this.issues.size > 0 || graph.problems.length > 0) return undefined;
    const wiring = this.wiringMemo.wire(graph, resolved, this.options.kinds);
    for (const problem of wiring.problems) {
      this.issues.add({
        code: problem.code,
        path: formatPath(problem.segments),
        message: problem.message,
        ...this.place(locator.value(problem.segments)),
        hint: problem.hint,
      });
    }
    if (wiring.problems.length > 0) return undefined;
    for (const name of wiring.kept) this.noteInputCheck(name, resolved[name]!, point);
    return { assignment, pdoc, settings, targets: graph.targets, resolved, configStages, wiring };
  }

  /** A kept stage whose kind looks inside its data and whose path params are set: checked after loading. */
  private noteInputCheck(name: string, rs: ResolvedStage, point: PointDoc): void {
    if (this.options.checkInputs === false || this.inputChecks.has(rs.runWith)) return;
    const kind = this.checker.kind(rs.uses);
    if (!kind?.checkInputs) return;
    const pathParams = this.checker.pathParams(rs.uses);
    const set = (v: unknown): boolean => (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length > 0);
    if (!pathParams.some((pp) => set(rs.runWith[pp.param]))) return;
    this.inputChecks.set(rs.runWith, {
      kind,
      params: rs.runWith,
      firstPathParam: pathParams.find((pp) => set(rs.runWith[pp.param]))!.param,
      place: (param) => {
        const segments = ['stages', name, 'with', param];
        const { origin, via } = this.originOf(segments, point);
        return { path: formatPath(segments), key: formatPath(via ?? segments), ...this.place(origin) };
      },
    });
  }

  /**
   * The kinds' looks inside the data of the kept stages (listings, headers, samples), each folder
   * once; every problem is a spec problem at the place the path was written.
   */
  async checkInputs(): Promise<void> {
    const looks = new Map<string, Promise<unknown>>();
    const look: InputLook = {
      once: <T>(key: string, fn: () => Promise<T>): Promise<T> => {
        let p = looks.get(key) as Promise<T> | undefined;
        if (!p) looks.set(key, (p = fn()));
        return p;
      },
    };
    for (const check of this.inputChecks.values()) {
      let problems: InputProblem[];
      try {
        problems = await check.kind.checkInputs!(check.params, look);
      } catch (e) {
        // A folder that cannot be listed, a file that cannot be read (EACCES, ELOOP, ...): said
        // as the kind or the system said it. Anything else is a bug of the check.
        const errno = (e as NodeJS.ErrnoException).code;
        if (isExpError(e)) problems = [{ param: check.firstPathParam, message: e.message, hint: e.hint }];
        else if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno))
          problems = [
            {
              param: check.firstPathParam,
              message: `cannot look inside: ${(e as Error).message}`,
              hint: 'check that the path can be read (permissions, links)',
            },
          ];
        else throw e;
      }
      for (const problem of problems) {
        const at = check.place(problem.param);
        this.issues.add({
          code: 'input_unusable',
          path: at.path,
          message: `${at.key}: ${problem.message}`,
          file: at.file,
          line: at.line,
          col: at.col,
          hint: problem.hint,
        });
      }
    }
    if (this.issues.size > 0) this.fail();
  }

  /** The point's doc: matrix values set, `${...}` resolved; undefined when its shape is unusable. */
  private interpolatePoint(
    assignment: Assignment,
    base: { doc: Record<string, unknown>; src: SrcNode; locator: Locator; sites: string[][] },
  ): PointDoc | undefined {
    let pdoc = base.doc;
    const overlay = new Map<string, SrcNode>();
    let sites = base.sites;
    let outsideWith = base.sites.some((site) => !isUnderWith(site));
    let trie: SiteTrie | undefined;
    if (assignment.entries.length > 0) {
      const extra: string[][] = [];
      for (const entry of assignment.entries) {
        pdoc = setAt(pdoc, entry.segments, entry.value) as Record<string, unknown>;
        overlay.set(pathKey(entry.segments), entry.src);
        findTemplates(entry.value, [...entry.segments], extra);
        if (!isUnderWith(entry.segments)) outsideWith = true;
      }
      // The sites of the points of one cartesian product are the same unless a matrix value holds a template.
      const axesKey = assignment.entries.map((e) => pathKey(e.segments)).join('\u0001');
      trie = extra.length === 0 ? this.trieCache.get(axesKey) : undefined;
      if (!trie) {
        sites = base.sites.filter((site) => !assignment.entries.some((e) => isPrefix(e.segments, site)));
        trie = buildSiteTrie([...sites, ...extra]);
        if (extra.length === 0) this.trieCache.set(axesKey, trie);
        if (extra.some((site) => !isUnderWith(site))) outsideWith = true;
      }
    }
    trie ??= this.trieCache.get('') ?? this.trieCache.set('', buildSiteTrie(base.sites)).get('')!;
    const locator = overlay.size > 0 ? new Locator(base.src, overlay) : base.locator;
    const stageUses = (stage: string): string | undefined => {
      const s = isRecord(pdoc.stages) ? pdoc.stages[stage] : undefined;
      return isRecord(s) && typeof s.uses === 'string' ? s.uses : undefined;
    };
    const interpolated = interpolate(pdoc, trie, {
      env: this.env,
      intern: this.intern,
      paramDefault: (stage, param) => this.checker.paramDefault(stageUses(stage), param),
    });
    for (const problem of interpolated.problems) {
      this.issues.add({
        code: problem.code,
        path: formatPath(problem.segments),
        message: problem.message,
        ...this.place(locator.value(problem.segments)),
        hint: problem.hint,
      });
    }
    // Values the experiment schema checks (outside stages' with:) changed: validate this point's doc.
    if (outsideWith) {
      for (const issue of mapAjvErrors(validateExperiment(interpolated.doc, this.options.executors), {
        locator,
        display: (f) => this.display(f),
      }))
        this.addSchemaIssue(issue, interpolated);
    }
    if (outsideWith && !isSound(interpolated.doc)) return undefined;
    return { pdoc: interpolated.doc, locator, interpolated, outsideWith };
  }

  /** A value whose reference failed is null: its type errors would only repeat the problem. */
  private addSchemaIssue(issue: SpecIssue, interpolated: PointDoc['interpolated']): void {
    if (!interpolated.problems.some((p) => formatPath(p.segments) === issue.path)) this.issues.add(issue);
  }

  /** Unknown needs, cycles, targets; memoised by the shape of the graph. */
  private checkPointGraph(
    stages: Record<string, StageDoc>,
    explicitTargets: string[] | undefined,
    locator: Locator,
  ): GraphResult {
    const needsMap = new Map<string, string[]>();
    for (const [name, stage] of Object.entries(stages)) needsMap.set(name, stage.needs ?? []);
    let signature = explicitTargets ? explicitTargets.join('\u0001') : '';
    for (const [name, list] of needsMap) signature += `\u0002${name}\u0001${list.join('\u0001')}`;
    let graph = this.graphMemo.get(signature);
    if (!graph) {
      graph = checkGraph(needsMap, explicitTargets);
      this.graphMemo.set(signature, graph);
      // reported once per shape: every point with this graph has the same problems
      for (const problem of graph.problems) {
        this.issues.add({
          code: problem.code,
          path: formatPath(problem.segments),
          message: problem.message,
          ...this.place(locator.value(problem.segments)),
          hint: problem.hint,
        });
      }
    }
    return graph;
  }

  /** Each stage: kind known, params valid (defaults filled), relative paths made absolute and checked. */
  private resolveStages(
    stages: Record<string, StageDoc>,
    point: PointDoc,
  ): { resolved: Record<string, ResolvedStage>; configStages: Record<string, unknown>; ok: boolean } {
    const resolved: Record<string, ResolvedStage> = {};
    const configStages: Record<string, unknown> = {};
    let ok = true;
    for (const [name, stage] of Object.entries(stages)) {
      const result = this.stageParams(name, stage, point);
      if (!result) {
        ok = false;
        continue;
      }
      if (!this.checkSharding(name, stage, point)) ok = false;
      if (result.errors.length > 0) ok = false;
      const bases = result.errors.length === 0 ? this.pathBases(name, stage, result.value, point) : [];
      const memoKey = `${name}\u0000${bases.map((b) => b.baseDir).join('\u0000')}`;
      let perStage = this.stageMemo.get(stage);
      const memo = perStage?.get(memoKey);
      if (memo && memo.rs.with === result.value) {
        resolved[name] = memo.rs;
        configStages[name] = memo.configStage;
        continue;
      }
      const runWith =
        result.errors.length === 0 ? this.absolutePaths(name, stage, result.value, bases, point) : result.value;
      if (!runWith) ok = false;
      const rs = resolvedStage(name, stage, result.value, runWith ?? result.value);
      const configStage = Object.freeze({ ...stage, needs: rs.needs, with: rs.with });
      resolved[name] = rs;
      configStages[name] = configStage;
      if (!perStage) {
        perStage = new Map();
        this.stageMemo.set(stage, perStage);
      }
      perStage.set(memoKey, { rs, configStage });
    }
    return { resolved, configStages, ok };
  }

  /** The stage's params validated against its kind (undefined when the kind is unknown or broken). */
  private stageParams(name: string, stage: StageDoc, point: PointDoc): ReturnType<ParamsChecker['validate']> {
    const kind = this.checker.kind(stage.uses);
    if (!kind) {
      const names = this.options.kinds.names();
      const match = didYouMean(stage.uses, names);
      this.issues.add({
        code: 'unknown_kind',
        path: `stages.${name}.uses`,
        message: `unknown stage kind "${stage.uses}" in stage "${name}"`,
        ...this.place(point.locator.value(['stages', name, 'uses'])),
        hint: match
          ? `did you mean "${match}"?`
          : names.length > 0
            ? `registered kinds: ${names.join(', ')}`
            : 'no stage kinds are registered',
      });
      return undefined;
    }
    let result: ReturnType<ParamsChecker['validate']>;
    try {
      result = this.checker.validate(stage.uses, stage.with ?? {});
    } catch (e) {
      this.issues.add({
        code: 'invalid_kind_schema',
        path: `stages.${name}.uses`,
        message: `the params schema of stage kind "${stage.uses}" does not compile: ${(e as Error).message}`,
        ...this.place(point.locator.value(['stages', name, 'uses'])),
        hint: 'this is a bug in the plugin that registers the kind',
      });
      return undefined;
    }
    if (result && result.errors.length > 0) {
      for (const issue of mapAjvErrors(result.errors, {
        locator: point.locator,
        display: (f) => this.display(f),
        prefix: ['stages', name, 'with'],
      }))
        this.addSchemaIssue(issue, point.interpolated);
    }
    return result;
  }

  /** `shards` / `shard_size`: only on kinds that declare sharding, and not both. */
  private checkSharding(name: string, stage: StageDoc, point: PointDoc): boolean {
    const set = (['shards', 'shard_size'] as const).filter((k) => stage[k] !== undefined);
    if (set.length === 0) return true;
    const kind = this.checker.kind(stage.uses);
    if (kind && !kind.shard) {
      const shardable = this.options.kinds
        .names()
        .filter((n) => this.options.kinds.get(n)?.shard)
        .join(', ');
      this.issues.add({
        code: 'not_shardable',
        path: `stages.${name}.${set[0]}`,
        message: `stage "${name}" uses ${stage.uses}, which cannot run as shards`,
        ...this.place(point.locator.key(['stages', name, set[0]!])),
        hint: `remove ${set.join(' / ')} from stage "${name}"; kinds that shard: ${shardable || 'none registered'}`,
      });
      return false;
    }
    if (set.length === 2) {
      this.issues.add({
        code: 'invalid_value',
        path: `stages.${name}.shard_size`,
        message: `stage "${name}" sets both shards and shard_size`,
        ...this.place(point.locator.key(['stages', name, 'shard_size'])),
        hint: 'give the number of shards (shards: N or auto) or the items per shard (shard_size: M), not both',
      });
      return false;
    }
    return true;
  }

  /** Where a value was written, following whole-string references (`corpus: ${data.x}` → data.x). */
  private originOf(segments: readonly string[], point: PointDoc): { origin: Origin; via?: string[] } {
    let current = segments;
    for (let hops = 0; hops < 50; hops++) {
      const next = point.interpolated.wholeRefs.get(pathKey(current));
      if (!next) break;
      current = next;
    }
    return { origin: point.locator.value(current), via: current === segments ? undefined : [...current] };
  }

  /** Relative path params and the folder each resolves against. */
  private pathBases(
    name: string,
    stage: StageDoc,
    params: Readonly<Record<string, unknown>>,
    point: PointDoc,
  ): PathBase[] {
    const bases: PathBase[] = [];
    for (const pp of this.checker.pathParams(stage.uses)) {
      const raw = params[pp.param];
      const segments = ['stages', name, 'with', pp.param];
      const values: [unknown, string[]][] =
        pp.list && Array.isArray(raw) ? raw.map((v, i) => [v, [...segments, String(i)]]) : [[raw, segments]];
      for (const [value, at] of values) {
        if (typeof value !== 'string' || value === '' || isAbsolute(value)) continue;
        const { origin, via } = this.originOf(at, point);
        bases.push({ segments: at, value, baseDir: origin.line > 0 ? dirname(origin.file) : this.cwd, origin, via });
      }
    }
    return bases;
  }

  /** Params for running: path params absolute and checked on disk (undefined after a missing path). */
  private absolutePaths(
    name: string,
    stage: StageDoc,
    params: Readonly<Record<string, unknown>>,
    bases: PathBase[],
    point: PointDoc,
  ): Readonly<Record<string, unknown>> | undefined {
    let copy: Record<string, unknown> | undefined;
    let ok = true;
    for (const pp of this.checker.pathParams(stage.uses)) {
      const raw = params[pp.param];
      const fix = (value: unknown, segments: string[]): unknown => {
        if (typeof value !== 'string' || value === '') return value;
        const base = bases.find(
          (b) => b.segments.length === segments.length && b.segments.every((s, i) => s === segments[i]),
        );
        const absolute = absolutePathParam(value, base?.baseDir ?? this.cwd);
        const problem = pathMismatch(pp.mode, this.checker.stat(absolute));
        if (problem) {
          ok = false;
          const { origin, via } = base ?? this.originOf(segments, point);
          this.issues.add({
            code: 'file_missing',
            path: formatPath(segments),
            message: `${problem}: ${value}${via ? ` (from ${formatPath(via)})` : ''}, looked for ${absolute}`,
            ...this.place(origin),
            hint: !base
              ? undefined
              : origin.line > 0
                ? `relative paths resolve against the folder of the file that defines them (${this.display(dirname(origin.file)) || '.'})`
                : 'relative paths given on the command line resolve against the current folder',
          });
        }
        return absolute;
      };
      const segments = ['stages', name, 'with', pp.param];
      const fixed =
        pp.list && Array.isArray(raw) ? raw.map((v, i) => fix(v, [...segments, String(i)])) : fix(raw, segments);
      const same = Array.isArray(fixed) && Array.isArray(raw) ? fixed.every((v, i) => v === raw[i]) : fixed === raw;
      if (!same) {
        copy ??= { ...params };
        copy[pp.param] = fixed;
      }
    }
    if (!ok) return undefined;
    // Copied only when a relative path was made absolute.
    return copy ? deepFreeze(copy) : params;
  }

  /** Producers narrowed to what the whole grid takes from them, then each point's id (deduplicated). */
  private finishPoints(wired: WiredPoint[]): ResolvedPoint[] {
    const parts = unionOfParts(wired);
    const seen = new Set<string>();
    const points: ResolvedPoint[] = [];
    for (const w of wired) {
      const point = finishPoint(w, parts, this.wiringMemo, this.stageHashText, this.setOverrides);
      if (seen.has(point.id)) continue;
      seen.add(point.id);
      points.push(point);
    }
    return points;
  }
}

/** A stage whose data its kind looks into after loading, and where to report what it finds. */
interface InputCheck {
  kind: KindInfo;
  params: Readonly<Record<string, unknown>>;
  /** Named when the check itself fails (a folder that cannot be listed). */
  firstPathParam: string;
  place(param: string): { path: string; key: string; file: string; line: number; col: number };
}

/** A stage as the planner gets it: frozen, ports filled in by the wiring. */
function resolvedStage(
  name: string,
  stage: StageDoc,
  params: Readonly<Record<string, unknown>>,
  runWith: Readonly<Record<string, unknown>>,
): ResolvedStage {
  const rs: ResolvedStage = {
    name,
    uses: stage.uses,
    needs: stage.needs ?? [],
    with: params as Record<string, unknown>,
    runWith: runWith as Record<string, unknown>,
    ports: NO_PORTS,
  };
  if (stage.resources) {
    const r = stage.resources;
    rs.resources = {};
    if (r.cpus !== undefined) rs.resources.cpus = r.cpus;
    if (r.gpus !== undefined) rs.resources.gpus = r.gpus;
    if (r.memory_mb !== undefined) rs.resources.memoryMb = r.memory_mb;
    Object.freeze(rs.resources);
  }
  if (stage.retries !== undefined) rs.retries = stage.retries;
  if (stage.shards !== undefined) rs.sharding = Object.freeze({ shards: stage.shards });
  else if (stage.shard_size !== undefined) rs.sharding = Object.freeze({ shardSize: stage.shard_size });
  return Object.freeze(rs);
}

/** A point whose stages are resolved and wired; its id waits for the grid-wide parts. */
interface WiredPoint {
  targets: string[];
  assignment: Assignment;
  pdoc: Record<string, unknown>;
  settings: Record<string, unknown>;
  resolved: Record<string, ResolvedStage>;
  configStages: Record<string, unknown>;
  wiring: WireResult;
}

/** For each producer with a parts param: what every point of the grid takes from it. */
function unionOfParts(wired: readonly WiredPoint[]): Map<ResolvedStage, string[]> {
  const taken = new Map<ResolvedStage, { param: string; set: Set<string> }>();
  for (const w of wired) {
    for (const name of w.wiring.kept) {
      const parts = w.wiring.stages[name]!.parts;
      if (!parts) continue;
      const rs = w.resolved[name]!;
      const entry = taken.get(rs) ?? { param: parts.param, set: new Set<string>() };
      for (const a of parts.take) entry.set.add(a);
      taken.set(rs, entry);
    }
  }
  const out = new Map<ResolvedStage, string[]>();
  for (const [rs, { param, set }] of taken) {
    // in the order the stage lists them (its default: every part it can make)
    const listed = Array.isArray(rs.with[param]) ? (rs.with[param] as string[]) : [...set];
    out.set(
      rs,
      listed.filter((a) => set.has(a)),
    );
  }
  return out;
}

/** The point's kept stages with their wiring, and its id. */
function finishPoint(
  w: WiredPoint,
  parts: Map<ResolvedStage, string[]>,
  memo: WiringMemo,
  stageHashText: Map<ResolvedStage, string>,
  sets: readonly Assigned[],
): ResolvedPoint {
  const kept: Record<string, ResolvedStage> = {};
  const configStages = { ...w.configStages };
  for (const name of w.wiring.kept) {
    const rs = w.resolved[name]!;
    kept[name] = memo.apply(rs, w.wiring.stages[name]!, parts.get(rs));
    if (kept[name] !== rs)
      configStages[name] = Object.freeze({
        ...(configStages[name] as object),
        needs: kept[name]!.needs,
        with: kept[name]!.with,
      });
  }
  for (const name of Object.keys(configStages)) if (!kept[name]) delete configStages[name];
  // Canonical JSON of {data, name, seed, stages: {uses, needs, with}, vars} (keys in sorted order).
  let stagesText = '';
  for (const n of [...w.wiring.kept].sort()) {
    const rs = kept[n]!;
    let text = stageHashText.get(rs);
    if (text === undefined) {
      text = canonicalJson({ needs: rs.needs, uses: rs.uses, with: rs.with });
      stageHashText.set(rs, text);
    }
    stagesText += `${stagesText ? ',' : ''}${JSON.stringify(n)}:${text}`;
  }
  const { pdoc, settings } = w;
  const hashText = `{"data":${canonicalJson(pdoc.data ?? {})},"name":${canonicalJson(pdoc.name)},"seed":${canonicalJson(settings.seed ?? 0)},"stages":{${stagesText}},"vars":${canonicalJson(pdoc.vars ?? {})}}`;
  const assignmentRecord: Record<string, unknown> = {};
  for (const entry of w.assignment.entries) assignmentRecord[entry.label] = entry.value;
  // A --set the matrix assigns anyway (an include entry naming the same key) is the matrix's.
  const assigned = new Set(w.assignment.entries.map((e) => pathKey(e.segments)));
  const ownSets = sets.filter((s) => !assigned.has(pathKey(s.segments)));
  return {
    id: shortHash(hashText),
    name: pointName([...w.assignment.entries, ...ownSets]),
    assignment: assignmentRecord,
    overrides: Object.fromEntries(ownSets.map((s) => [s.label, s.value])),
    stages: kept,
    config: { ...pdoc, stages: configStages },
  };
}

/** `settings.executor` and the executors' `settings.<name>` blocks (validated by the experiment schema). */
function executorSettings(
  settings: Record<string, unknown>,
  executors: ExecutorLookup | undefined,
): Pick<LoadedSpec['settings'], 'executor' | 'executorSettings'> {
  const names = executors?.names() ?? executorSettingKeys(getExperimentSchema());
  const blocks: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    const block = settings[name];
    if (isRecord(block)) blocks[name] = block;
  }
  return {
    ...(typeof settings.executor === 'string' ? { executor: settings.executor } : {}),
    ...(Object.keys(blocks).length ? { executorSettings: blocks } : {}),
  };
}
