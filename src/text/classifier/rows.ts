// Encoded sentences as training rows: sparse (hashed n-grams, CSR) or dense (BERT features).

export interface FeatureRows {
  readonly count: number;
  readonly dim: number;
  /** Add row `row` into dst[offset .. offset+dim) (dst is zeroed by the caller). */
  fill(row: number, dst: Float32Array, offset: number): void;
}

/**
 * CSR rows in growing typed arrays (111k sentences × ~100 features: JS number[] arrays cost
 * ~16 bytes per feature and their growth copies; these cost 8).
 */
export class SparseRows implements FeatureRows {
  readonly dim: number;
  readonly sparse = true;
  private rowEnds = new Int32Array(1024);
  private rows = 0;
  private idx = new Int32Array(1 << 16);
  private val = new Float32Array(1 << 16);
  private nnz = 0;
  constructor(dim: number) {
    this.dim = dim;
  }
  get count(): number {
    return this.rows;
  }
  push(indices: Int32Array, values: Float32Array, length: number): void {
    if (this.nnz + length > this.idx.length) {
      const cap = Math.max(this.nnz + length, this.idx.length * 2);
      const idx = new Int32Array(cap);
      idx.set(this.idx.subarray(0, this.nnz));
      const val = new Float32Array(cap);
      val.set(this.val.subarray(0, this.nnz));
      this.idx = idx;
      this.val = val;
    }
    this.idx.set(indices.subarray(0, length), this.nnz);
    this.val.set(values.subarray(0, length), this.nnz);
    this.nnz += length;
    if (this.rows + 1 >= this.rowEnds.length) {
      const ends = new Int32Array(this.rowEnds.length * 2);
      ends.set(this.rowEnds);
      this.rowEnds = ends;
    }
    this.rowEnds[++this.rows] = this.nnz;
  }
  /** CSR views: row r's features are indices/values[indptr[r] .. indptr[r+1]). */
  csr(): { indptr: Int32Array; indices: Int32Array; values: Float32Array } {
    return {
      indptr: this.rowEnds.subarray(0, this.rows + 1),
      indices: this.idx.subarray(0, this.nnz),
      values: this.val.subarray(0, this.nnz),
    };
  }
  /** Number of stored features of a row. */
  rowLength(row: number): number {
    return this.rowEnds[row + 1]! - this.rowEnds[row]!;
  }
  /** Copy a row's features into idx/val at offset (padding is the caller's business). */
  copyRow(row: number, idx: Int32Array, val: Float32Array, offset: number): void {
    const s = this.rowEnds[row]!;
    const e = this.rowEnds[row + 1]!;
    idx.set(this.idx.subarray(s, e), offset);
    val.set(this.val.subarray(s, e), offset);
  }
  fill(row: number, dst: Float32Array, offset: number): void {
    for (let p = this.rowEnds[row]!; p < this.rowEnds[row + 1]!; p++) dst[offset + this.idx[p]!] += this.val[p]!;
  }
}

export class DenseRows implements FeatureRows {
  readonly dim: number;
  readonly data: Float32Array;
  readonly count: number;
  constructor(data: Float32Array, dim: number) {
    this.data = data;
    this.dim = dim;
    this.count = dim > 0 ? data.length / dim : 0;
  }
  fill(row: number, dst: Float32Array, offset: number): void {
    dst.set(this.data.subarray(row * this.dim, (row + 1) * this.dim), offset);
  }
}
