import { describe, expect, it } from 'vitest';
import { NodeOperationGuard } from '../../../electron/services/node-host.js';

describe('NodeOperationGuard', () => {
  it('refuses a second start or stop of a node while one runs, lets other nodes through, and frees the node after a failure', async () => {
    const guard = new NodeOperationGuard();
    let finish!: () => void;
    const first = guard.run('n1', () => new Promise<string>((resolve) => (finish = () => resolve('started'))));
    await expect(guard.run('n1', async () => 'again')).rejects.toMatchObject({ code: 'conflict', message: 'node n1 is already being started or stopped' });
    await expect(guard.run('n2', async () => 'other node')).resolves.toBe('other node');
    finish();
    await expect(first).resolves.toBe('started');
    await expect(guard.run('n1', () => Promise.reject(new Error('raftd exited')))).rejects.toThrow('raftd exited');
    await expect(guard.run('n1', async () => 'after a failure')).resolves.toBe('after a failure');
  });
});
