// Which links the topology draws cut: those a partition separates, and single links cut either way.
import { describe, expect, it } from 'vitest';
import { links } from '../../../renderer/src/logic/topology';

const cutOnes = (l: ReturnType<typeof links>) => l.filter((x) => x.cut).map((x) => `${x.a}-${x.b}`);

describe('topology links', () => {
  it('cuts a pair a partition separates', () => {
    expect(cutOnes(links(['n1', 'n2', 'n3'], [['n1'], ['n2', 'n3']]))).toEqual(['n1-n2', 'n1-n3']);
  });

  it('cuts a pair whose link is cut in either direction, with no partition', () => {
    expect(cutOnes(links(['n1', 'n2', 'n3', 'n4'], undefined, [{ from: 'n1', to: 'n3' }, { from: 'n4', to: 'n2' }]))).toEqual(['n1-n3', 'n2-n4']);
    expect(cutOnes(links(['n1', 'n2', 'n3'], [], []))).toEqual([]);
  });
});
