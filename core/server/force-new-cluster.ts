// Recovery from a lost quorum (etcd's --force-new-cluster): rebuild the state from every entry in
// this node's log, write it as a snapshot whose configuration is this node alone, and start a fresh
// WAL; the old WAL is kept beside it. Every entry is kept, not only those known committed: the
// persisted commit index may lag (it is not synced on its own), and a write this node holds whose
// outcome its client never learned is better kept than silently dropped. Configuration entries
// are not replayed: the new configuration is this node alone.
import { rename } from 'node:fs/promises';
import { EntryType } from '../raft/types.js';
import { unwrap } from '../node/envelope.js';
import { FileLogStore, FileSnapshotStore } from '../storage/index.js';
import { RaftdStateMachine, type MemberAddress, type MemberContext } from '../service/state-machine.js';

export async function forceNewCluster(options: {
  id: string;
  walDir: string;
  snapDir: string;
  initialMembers: MemberContext;
  self: MemberAddress;
}): Promise<string> {
  const snapshotStore = new FileSnapshotStore(options.snapDir);
  const snapshot = await snapshotStore.load();
  const wal = await FileLogStore.open(options.walDir);
  const { hardState, entries } = await wal.load();
  await wal.close();

  const stateMachine = new RaftdStateMachine(options.initialMembers);
  if (snapshot) stateMachine.restore(snapshot.data);
  let index = snapshot?.metadata.index ?? 0;
  let term = snapshot?.metadata.term ?? 0;
  for (const entry of entries) {
    if (entry.index <= index) continue;
    if (entry.type === EntryType.Normal && entry.data.length > 0) stateMachine.apply(unwrap(entry.data).payload);
    index = entry.index;
    term = entry.term;
  }
  const directory: MemberContext = { [options.id]: options.self };
  const data = new RaftdStateMachine(directory);
  data.kv.restore(stateMachine.kv.snapshot());

  const backup = `${options.walDir}.backup-${Date.now()}`;
  await rename(options.walDir, backup);
  await snapshotStore.save({
    metadata: { index, term, confState: { voters: [options.id], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } },
    data: data.snapshot(),
  });
  const fresh = await FileLogStore.open(options.walDir);
  await fresh.save({ term: hardState.term, vote: '', commit: index }, []);
  await fresh.close();
  return backup;
}
