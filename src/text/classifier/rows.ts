// Encoded sentences as training rows: sparse (hashed n-grams, CSR) or dense (BERT features).

export interface FeatureRows {
  readonly count: number;
  readonly dim: number;
  /** Add row `row` into dst[offset .. offset+dim) (dst is zeroed by the caller). */
  fill(row: number, dst: Float32Array, offset: number): void;
}

export class SparseRows implements FeatureRows {
  readonly dim: number;
  readonly sparse = true;
  private indptr: number[] = [0];
  private indices: number[] = [];
  private values: number[] = [];
  constructor(dim: number) {
    this.dim = dim;
  }
  get count(): number {
    return this.indptr.length - 1;
  }
  push(indices: Int32Array, values: Float32Array, length: number): void {
    for (let i = 0; i < length; i++) {
      this.indices.push(indices[i]!);
      this.values.push(values[i]!);
    }
    this.indptr.push(this.indices.length);
  }
  /** Number of stored features of a row. */
  rowLength(row: number): number {
    return this.indptr[row + 1]! - this.indptr[row]!;
  }
  /** Copy a row's features into idx/val at offset (padding is the caller's business). */
  copyRow(row: number, idx: Int32Array, val: Float32Array, offset: number): void {
    let o = offset;
    for (let p = this.indptr[row]!; p < this.indptr[row + 1]!; p++, o++) {
      idx[o] = this.indices[p]!;
      val[o] = this.values[p]!;
    }
  }
  fill(row: number, dst: Float32Array, offset: number): void {
    for (let p = this.indptr[row]!; p < this.indptr[row + 1]!; p++) dst[offset + this.indices[p]!] += this.values[p]!;
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
