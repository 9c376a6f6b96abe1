/** @module Puts the system blueprints in the store at start, when they are missing. */
import type { Deps } from '../core/types.ts';
import { StoreConflict } from '../store/types.ts';
import { blueprintXml, SYSTEM_BLUEPRINTS } from './blueprints.ts';
import { parseDocument, serializeDocument } from './document.ts';
import { normalizeId } from './ids.ts';

export async function seedBlueprints(deps: Deps): Promise<void> {
  for (const def of SYSTEM_BLUEPRINTS) {
    const doc = parseDocument(blueprintXml(def, deps.config.domain));
    const uri = normalizeId(`xcon:${def.id}@${deps.config.domain}`);
    if (await deps.store.get(uri)) continue;
    const now = deps.platform.now();
    try {
      await deps.store.commit([
        {
          op: 'put',
          object: {
            uri,
            kind: 'blueprint',
            version: 1,
            owner: 'system',
            document: serializeDocument(doc),
            members: [],
            createdAt: now,
            updatedAt: now,
          },
        },
      ]);
    } catch (err) {
      // Another process sharing the database seeded it first.
      if (!(err instanceof StoreConflict)) throw err;
    }
  }
}
