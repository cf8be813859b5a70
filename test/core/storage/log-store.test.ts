import { FileLogStore } from '../../../core/storage/wal.js';
import { MemoryLogStore } from '../../../core/storage/memory.js';
import { describeLogStoreContract } from './log-store-contract.js';
import { tempDir } from './helpers.js';

describeLogStoreContract(
  'MemoryLogStore',
  async () => {
    // The store object is the disk: a restarted node loads from the same one.
    const store = new MemoryLogStore();
    return { store, restart: async () => {}, dispose: () => store.close() };
  },
  200,
);

describeLogStoreContract(
  'FileLogStore',
  async () => {
    const dir = await tempDir();
    // Small segments, so the property run also rolls over and deletes segments.
    const open = () => FileLogStore.open(dir.path, { segmentBytes: 4096 });
    let store = await open();
    return {
      get store() {
        return store;
      },
      async restart() {
        await store.close();
        store = await open();
      },
      async dispose() {
        await store.close();
        await dir.remove();
      },
    };
  },
  40,
);
