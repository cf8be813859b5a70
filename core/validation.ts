// zod's tree-shakable build for everything raftd loads: bundled into the daemon it costs ~50 KB,
// where the classic `zod` package adds 10-13 MB to every raftd's resident memory. The mini build
// leaves error messages to a locale, so English (only) is configured once, here. Import it as a
// namespace (`import * as z`) and use its members directly: passing `z` around defeats tree-shaking.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
