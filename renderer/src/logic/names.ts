// Whether a name the user types can name a node, by the API's own rule, said in plain words.
import { requestSchemas } from '../../../electron/shared/api';

const nodeIdRule = requestSchemas['membership.addNode'].shape.nodeId;

/** Null when `name` can name a node (or is empty: the console then picks one). */
export function nodeNameProblem(name: string): string | null {
  if (name === '') return null;
  const result = nodeIdRule.safeParse(name);
  if (result.success) return null;
  return `“${name}” cannot name a node: use letters, digits and _ . - only, at most 64 characters, and not “.” or “..”.`;
}
