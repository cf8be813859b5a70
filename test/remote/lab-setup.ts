// Every lab test file starts here: refuse to run outside rc-op (lab addresses must never be reached
// from the root namespace) or without a built lab; then put the hosts back as the lab built them, so no
// file sees what an earlier one deployed (files run one at a time, in an order vitest chooses).
import { beforeAll } from 'vitest';
import { requireLab, resetHosts } from './lab.js';

const lab = requireLab();
beforeAll(() => resetHosts(lab), 60_000);
