// ssh2's generateKeyPairSync('ed25519') writes a public key whose leading zero byte is dropped (31 bytes
// instead of 32) in about 3 keys of 1000, which its own parser then refuses as malformed. Tests that
// need a fresh key take one that parses.
import ssh2 from 'ssh2';

export function generateEd25519Key(): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(key.private) instanceof Error) && !(ssh2.utils.parseKey(key.public) instanceof Error)) return key;
  }
  throw new Error('ssh2 made 20 ed25519 keys in a row that it cannot parse');
}
