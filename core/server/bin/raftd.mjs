#!/usr/bin/env node
// Runs the TypeScript sources through tsx so that `npx raftd` works right after install.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../raftd.ts');
await main(process.argv.slice(2));
