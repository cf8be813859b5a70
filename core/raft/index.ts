// The consensus module's public surface. Types live in types.ts; import them from there or here.
export * from './types.js';
export { RawNode } from './rawnode.js';
export { MemoryStorage } from './memory-storage.js';
export { confChangeCodec, decodeConfChange, encodeConfChange } from './codec.js';
export {
  ConfChangeError,
  changeConfState,
  compareNodeIds,
  confChangeKind,
  confStateMembers,
  createConfState,
  isJoint,
  isVoter,
} from './confchange.js';
export { jointCommittedIndex, jointVoteResult, majoritySize, type VoteResult } from './quorum.js';
