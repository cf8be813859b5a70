export type { Transport } from './types.js';
export { MAX_NODE_ID_LENGTH, MAX_TERM_OR_INDEX, MalformedMessageError, decodeMessage, encodeMessage } from './codec.js';
export { DEFAULT_LATENCY, MemoryNetwork, summarizeMessage } from './memory.js';
export type { DropReason, InFlightMessage, Latency, MemoryNetworkOptions, NetworkEvent } from './memory.js';
export { TcpTransport, isLoopbackHost, parseHostPort } from './tcp.js';
export type { HostPort, PeerStats, TcpTransportOptions, TcpTransportStats } from './tcp.js';
