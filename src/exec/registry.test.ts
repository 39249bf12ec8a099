import { describe, expect, it } from 'vitest';
import { builtinExecutorRegistry } from './builtin.ts';
import { ExecutorRegistry, resolveExecutorSettings, type ExecutorDefinition } from './registry.ts';

const def = (over: Partial<ExecutorDefinition> = {}): ExecutorDefinition => ({
  name: 'kube',
  description: 'a Kubernetes Job per node',
  settingsSchema: {
    type: 'object',
    properties: {
      namespace: { type: 'string', description: 'namespace' },
      image: { type: 'string', description: 'image' },
    },
  },
  options: [
    {
      key: 'namespace',
      flag: 'namespace',
      env: 'KUBE_NAMESPACE',
      value: 'NAME',
      description: 'a namespace',
      required: true,
    },
  ],
  where: () => 'Kubernetes',
  open: async () => undefined,
  ...over,
});

describe('ExecutorRegistry', () => {
  it('holds the built-in executors in order', () => {
    expect(builtinExecutorRegistry().names()).toEqual(['local', 'slurm', 'bullmq']);
  });

  it('registers a plugin executor once and refuses bad definitions', () => {
    const r = builtinExecutorRegistry();
    const kube = def();
    r.register(kube);
    r.register(kube); // the same object again: harmless
    expect(r.get('kube')).toBe(kube);
    expect(r.settingsSchema('kube')).toBe(kube.settingsSchema);
    expect(() => r.register(def())).toThrow(/registered twice/);
    expect(() => new ExecutorRegistry().register(def({ name: 'Kube' }))).toThrow(/lower-case word/);
    expect(() => new ExecutorRegistry().register(def({ name: 'seed' }))).toThrow(/reserved/);
    expect(() => new ExecutorRegistry().register(def({ description: '' }))).toThrow(/needs a description/);
    expect(() => new ExecutorRegistry().register(def({ settingsSchema: { type: 'string' } }))).toThrow(/object schema/);
    expect(() =>
      new ExecutorRegistry().register(def({ options: [{ key: 'nope', value: 'X', description: 'x' }] })),
    ).toThrow(/"nope" is not a key of its settingsSchema/);
  });

  it('resolves options: flag, then spec, then environment; a missing required one names all three', () => {
    const kube = def();
    const env = { KUBE_NAMESPACE: 'from-env' };
    expect(resolveExecutorSettings(kube, { namespace: 'spec', image: 'x' }, { namespace: 'flag' }, env)).toEqual({
      namespace: 'flag',
      image: 'x',
    });
    expect(resolveExecutorSettings(kube, { namespace: 'spec' }, {}, env).namespace).toBe('spec');
    expect(resolveExecutorSettings(kube, undefined, {}, env).namespace).toBe('from-env');
    expect(() => resolveExecutorSettings(kube, undefined, {}, {})).toThrow(
      expect.objectContaining({
        code: 'EXP_ARGS_INVALID',
        message: 'the kube executor needs a namespace',
        hint: 'pass --namespace NAME, set settings.kube.namespace or KUBE_NAMESPACE',
      }),
    );
  });
});
