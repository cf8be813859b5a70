// The fuses of the packaged app's Electron binary, flipped once when it is packaged: features a
// shipped console never uses are switched off in the binary itself, where no environment variable
// or command-line flag can turn them back on. Run on the packaged binary:
//   npx tsx electron/packaging/fuses.ts <path to the packaged Electron executable>
// Local nodes then need a Node runtime of their own (RunAsNode is off): see LocalHostOptions.node.
import { pathToFileURL } from 'node:url';
import { flipFuses, FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses';

export const packagedFuses: FuseV1Config = {
  version: FuseVersion.V1,
  // Every fuse of the wire set on purpose: a fuse a newer Electron adds fails the flip until decided here.
  strictlyRequireAllFuses: true,
  // ELECTRON_RUN_AS_NODE would turn the signed app into a plain Node for any local program.
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS (--require, --inspect) and --inspect flags would inject code into the main process.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // The app's code is checked against the ASAR's recorded hashes (macOS and Windows), and loaded from it only.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  // The renderer is served from app://, never file://.
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  [FuseV1Options.WasmTrapHandlers]: true,
};

export function flipPackagedFuses(electronBinary: string): Promise<number> {
  return flipFuses(electronBinary, packagedFuses);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const binary = process.argv[2];
  if (!binary) {
    console.error('usage: tsx electron/packaging/fuses.ts <path to the packaged Electron executable>');
    process.exit(2);
  }
  void flipPackagedFuses(binary).then(
    () => console.log(`fuses set on ${binary}`),
    (error: Error) => {
      console.error(`could not set the fuses of ${binary}: ${error.message}`);
      process.exit(1);
    },
  );
}
