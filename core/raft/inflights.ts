// The App messages sent to one follower in replicate state and not yet acknowledged,
// each remembered by the index of its last entry. Bounds how far the leader pipelines.
export class Inflights {
  private readonly lastIndices: number[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new Error(`inflights capacity must be a positive integer, got ${capacity}`);
    }
  }

  get count(): number {
    return this.lastIndices.length;
  }

  full(): boolean {
    return this.lastIndices.length >= this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error('inflights: window is full');
    const previous = this.lastIndices[this.lastIndices.length - 1];
    if (previous !== undefined && lastIndex <= previous) {
      throw new Error(`inflights: index ${lastIndex} is not after ${previous}`);
    }
    this.lastIndices.push(lastIndex);
  }

  /** The follower acknowledged everything up to `index`: those messages are no longer in flight. */
  freeLE(index: number): void {
    let freed = 0;
    while (freed < this.lastIndices.length && this.lastIndices[freed] <= index) freed++;
    this.lastIndices.splice(0, freed);
  }

  reset(): void {
    this.lastIndices.length = 0;
  }
}
