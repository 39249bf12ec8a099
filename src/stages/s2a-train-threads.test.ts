import { describe, expect, it } from 'vitest';
import { kind, PAIRS_PER_THREAD, resolveOptimizer, resolveThreads } from './s2a-train.ts';

describe('s2a.train threads and optimizer', () => {
  it('threads 0 starts one thread per PAIRS_PER_THREAD pairs, at most the cores; a set count is kept', () => {
    expect(resolveThreads(0, 500, 2)).toBe(1); // the demo world: deterministic
    expect(resolveThreads(0, 2 * PAIRS_PER_THREAD, 2)).toBe(2);
    expect(resolveThreads(0, 83_000, 2)).toBe(2);
    expect(resolveThreads(0, 83_000, 8)).toBe(4);
    expect(resolveThreads(0, 83_000, 1)).toBe(1);
    expect(resolveThreads(3, 10, 2)).toBe(3);
    expect(resolveThreads(1, 1e6, 16)).toBe(1);
  });

  it('optimizer auto is sgd for a linear head, adam with a hidden layer', () => {
    expect(resolveOptimizer({ optimizer: 'auto', hidden: 0 })).toBe('sgd');
    expect(resolveOptimizer({ optimizer: 'auto', hidden: 64 })).toBe('adam');
    expect(resolveOptimizer({ optimizer: 'adam', hidden: 0 })).toBe('adam');
    expect(resolveOptimizer({ optimizer: 'sgd', hidden: 64 })).toBe('sgd');
  });

  it('documents threads, optimizer and sgd_learning_rate in its schema', () => {
    const props = (kind.paramsSchema as { properties: Record<string, { default?: unknown; description?: string }> })
      .properties;
    expect(props.threads?.default).toBe(0);
    expect(props.threads?.description).toMatch(/not bit-reproducible/);
    expect(props.optimizer?.default).toBe('auto');
    expect(props.sgd_learning_rate?.default).toBeGreaterThan(0);
  });
});
