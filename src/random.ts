// Seeded randomness shared by every room (like errors.ts, it imports nothing of ours): the same
// seed gives the same split, shuffle, crop and training run on every machine.

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): Mulberry32 {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // the same draws as calling next() out.length times, inlined (a linear head's init is 142M draws)
  next.fillSymmetric = (out: Float32Array, scale: number) => {
    let s = a; // a local, not the closure's slot: ~8× faster
    const n = out.length;
    for (let i = 0; i < n; i++) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      // × 2^-32 is exactly ÷ 2^32
      out[i] = (((t ^ (t >>> 14)) >>> 0) * 2.3283064365386963e-10 * 2 - 1) * scale;
    }
    a = s;
  };
  return next;
}

/** A mulberry32 stream: call it for one float in [0, 1), or fill an array with many at once. */
export interface Mulberry32 {
  (): number;
  /** out[i] = (2·u_i − 1) · scale for the next out.length draws u_i (what a loop over () gives). */
  fillSymmetric(out: Float32Array, scale: number): void;
}

/** Fisher–Yates shuffle in place; returns its argument. */
export function shuffleInPlace<A extends { length: number; [i: number]: unknown }>(a: A, rand: () => number): A {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/**
 * Make `Math.random` deterministic for the rest of this process. Libraries that draw their own
 * seeds from it (tfjs weight initialisers, dropout masks) then repeat with the seed. Only for
 * code that owns its process (stages that run in a child process).
 */
export function seedGlobalRandom(seed: number): void {
  Math.random = mulberry32(seed ^ 0x9e3779b9);
}
