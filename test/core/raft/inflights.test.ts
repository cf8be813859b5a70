import { describe, expect, it } from 'vitest';
import { Inflights } from '../../../core/raft/inflights.js';

describe('Inflights', () => {
  it('fills up to its capacity and refuses more', () => {
    const inflights = new Inflights(3);
    inflights.add(5);
    inflights.add(7);
    expect(inflights.full()).toBe(false);
    inflights.add(9);
    expect(inflights.full()).toBe(true);
    expect(() => inflights.add(10)).toThrow(/full/);
  });

  it('frees every message acknowledged by an index', () => {
    const inflights = new Inflights(4);
    for (const i of [5, 7, 9, 11]) inflights.add(i);
    inflights.freeLE(8);
    expect(inflights.count).toBe(2);
    inflights.freeLE(4);
    expect(inflights.count).toBe(2);
    inflights.freeLE(11);
    expect(inflights.count).toBe(0);
  });

  it('keeps indices increasing', () => {
    const inflights = new Inflights(4);
    inflights.add(5);
    expect(() => inflights.add(5)).toThrow(/not after/);
  });

  it('rejects a capacity that could never send anything', () => {
    expect(() => new Inflights(0)).toThrow(/positive integer/);
  });

  it('empties on reset', () => {
    const inflights = new Inflights(2);
    inflights.add(1);
    inflights.add(2);
    inflights.reset();
    expect(inflights.count).toBe(0);
    expect(inflights.full()).toBe(false);
  });
});
