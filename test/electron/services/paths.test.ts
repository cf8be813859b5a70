import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import { childPath, DataLayout } from '../../../electron/services/paths.js';
import { parseRequest } from '../../../electron/shared/api.js';
import { tempDir } from '../helpers.js';

describe('paths built from ids', () => {
  const layout = new DataLayout('/data');

  it('refuse ids that are not plain names, so no path leaves its parent', () => {
    for (const bad of ['.', '..', '../x', 'a/b', 'a\\b', '', '/etc', 'x'.repeat(65)]) {
      expect(() => layout.clusterDir(bad), bad).toThrow(/not a plain name/);
      expect(() => layout.nodeDir('c', bad), bad).toThrow(/not a plain name/);
      expect(() => childPath('/data', bad, 'id'), bad).toThrow(/not a plain name/);
    }
    expect(layout.nodeDataDir('c', 'n1')).toBe('/data/clusters/c/nodes/n1/data');
    expect(layout.clusterDir('a..b')).toBe('/data/clusters/a..b');
  });

  it('are refused at the API too, with the reason', () => {
    expect(() => parseRequest('clusters.delete', { clusterId: '..' })).toThrow(/clusterId: not \. or \.\./);
    expect(() => parseRequest('membership.addNode', { clusterId: 'c', nodeId: '.' })).toThrow(/nodeId: not \. or \.\./);
  });
});

describe('a cluster named ".."', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService | undefined;

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    await service?.close();
    await dir.remove();
  });

  it('gets a plain id, and deleting it leaves the data dir and every other cluster in place', async () => {
    service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, embeddedRuns: false });
    const api = service.openSession(() => undefined);
    await api.invoke('clusters.create', { name: 'Other', kind: 'local', size: 1 });
    const marker = join(dir.path, 'clusters', 'other', 'kept');
    await mkdir(dirname(marker), { recursive: true });
    await writeFile(marker, 'still here');
    // A local cluster's files are removed with it: with the id "..", that was the whole data dir.
    const dots = (await api.invoke('clusters.create', { name: '..', kind: 'local', size: 1 })) as { id: string };
    expect(dots.id).toBe('cluster');
    const dotted = (await api.invoke('clusters.create', { name: '.-.', kind: 'embedded', size: 1 })) as { id: string };
    expect(dotted.id).toBe('cluster-2');
    await api.invoke('clusters.delete', { clusterId: dots.id });
    expect(existsSync(join(dir.path, 'clusters.json'))).toBe(true);
    expect(existsSync(marker)).toBe(true);
    expect(((await api.invoke('clusters.list', {})) as Array<{ id: string }>).map((c) => c.id)).toEqual(['other', 'cluster-2']);
  });
});
