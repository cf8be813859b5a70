import { describe, expect, it } from 'vitest';
import { parseSseBlock } from '../../../electron/services/raftd-client.js';

describe("parsing raftd's event stream", () => {
  it('reads the event name and JSON data of a block, joining multi-line data', () => {
    expect(parseSseBlock('event: role\ndata: {"role":"leader","term":3}')).toEqual({ event: 'role', data: { role: 'leader', term: 3 } });
    expect(parseSseBlock('event: x\ndata: [1,\ndata: 2]')).toEqual({ event: 'x', data: [1, 2] });
  });

  it("defaults the event name to 'message', with or without a space after the colon", () => {
    expect(parseSseBlock('data:"a"')).toEqual({ event: 'message', data: 'a' });
    expect(parseSseBlock('data: " b"')).toEqual({ event: 'message', data: ' b' });
  });

  it('skips comments (keep-alives), blocks without data and data that is not JSON', () => {
    expect(parseSseBlock(': keep-alive')).toBeNull();
    expect(parseSseBlock('event: role')).toBeNull();
    expect(parseSseBlock('event: role\ndata: {not json')).toBeNull();
    expect(parseSseBlock(': note\nevent: commit\ndata: 7')).toEqual({ event: 'commit', data: 7 });
  });
});
