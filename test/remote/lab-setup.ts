// Every lab test file starts here: refuse to run outside rc-op (lab addresses must never be reached
// from the root namespace) or without a built lab.
import { requireLab } from './lab.js';

requireLab();
