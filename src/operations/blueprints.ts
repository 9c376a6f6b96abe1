/**
 * @module blueprintsRequest (RFC 6503 §5.3.1) and blueprintRequest (§5.3.3).
 *
 * Every user may list and read blueprints; only system administrators may create, change or
 * delete them (403 for everyone else). Blueprints never carry passwords.
 */
import type { CcmpResponse } from '../ccmp/encode.ts';
import type { Ctx } from '../core/types.ts';
import { BadRequest, ForbiddenDeleteParent } from '../errors.ts';
import { applyDelta } from '../model/delta.ts';
import { description, embedDocument, parseStored } from '../model/document.ts';
import { normalizeId } from '../model/ids.ts';
import { NS } from '../xml/namespaces.ts';
import { child, text } from '../xml/tree.ts';
import {
  authorize,
  listOnly,
  checkIfMatch,
  commit,
  exclusive,
  load,
  operationOf,
  required,
  success,
  toStored,
} from './common.ts';
import { suppliedDocument } from './conf.ts';
import { removePasswords, trimValues, validateDocument } from './document-steps.ts';
import { listFiltered } from './listing.ts';

export async function blueprintsRequest(ctx: Ctx): Promise<CcmpResponse> {
  if (ctx.request.confObjID !== undefined)
    throw new BadRequest('blueprintsRequest must not carry a confObjID');
  listOnly(ctx);
  authorize(ctx, 'retrieve', ctx.isAdmin ? 'administrator' : 'none', 'the blueprint list');
  const uris = await ctx.deps.store.listAll({
    kinds: ['blueprint'],
    limit: ctx.deps.config.limits.maxListEntries,
  });
  const entries = await listFiltered(
    ctx,
    uris,
    (obj) => {
      const desc = description(parseStored(obj.document));
      const displayText = desc ? text(child(desc, NS.info, 'display-text')) : '';
      const purpose = desc ? text(child(desc, NS.info, 'free-text')) : '';
      return { ...(displayText ? { displayText } : {}), ...(purpose ? { purpose } : {}) };
    },
    true,
  );
  entries.sort((a, b) => a.uri.localeCompare(b.uri));
  // uris-type needs at least one entry: an empty list is answered without blueprintsInfo.
  if (entries.length === 0) return success(ctx, { operation: undefined });
  return success(ctx, {
    operation: undefined,
    body: `<blueprintsInfo>${entries.map((e) => e.xml).join('')}</blueprintsInfo>`,
  });
}

export async function blueprintRequest(ctx: Ctx): Promise<CcmpResponse> {
  const op = operationOf(ctx, ['retrieve', 'create', 'update', 'delete']);
  const actor = ctx.isAdmin ? 'administrator' : 'none';
  authorize(ctx, op, actor, 'blueprints');
  switch (op) {
    case 'retrieve': {
      const bp = await load(ctx, required(ctx.request.confObjID, '<confObjID>'), ['blueprint']);
      return success(ctx, { body: embedDocument(bp.document, 'blueprintInfo') });
    }
    case 'create': {
      const info = required(ctx.request.info, '<blueprintInfo>');
      const { doc, uri } = await suppliedDocument(ctx, info);
      trimValues(doc);
      removePasswords(doc);
      validateDocument(doc);
      const now = ctx.deps.platform.now();
      const stored = toStored(
        ctx,
        { uri: normalizeId(uri), kind: 'blueprint', version: 1, owner: ctx.userId, createdAt: now },
        doc,
      );
      await commit(ctx, [{ op: 'put', object: stored }]);
      return success(ctx, {
        confObjID: uri,
        version: 1,
        body: embedDocument(stored.document, 'blueprintInfo'),
      });
    }
    case 'update': {
      const confObjID = required(ctx.request.confObjID, '<confObjID>');
      const info = required(ctx.request.info, '<blueprintInfo> with the changes');
      return exclusive(ctx, confObjID, async () => {
        const bp = await load(ctx, confObjID, ['blueprint']);
        checkIfMatch(ctx, bp);
        const doc = parseStored(bp.document);
        const delta = { ...info, attrs: info.attrs.filter((a) => a.name !== 'entity') };
        applyDelta(doc, delta);
        trimValues(doc);
        removePasswords(doc);
        validateDocument(doc);
        const updated = toStored(ctx, { ...bp, version: bp.version + 1 }, doc);
        await commit(ctx, [{ op: 'put', object: updated, expectedVersion: bp.version }]);
        return success(ctx, { version: updated.version });
      });
    }
    case 'delete': {
      const confObjID = required(ctx.request.confObjID, '<confObjID>');
      return exclusive(ctx, confObjID, async () => {
        const bp = await load(ctx, confObjID, ['blueprint']);
        checkIfMatch(ctx, bp);
        if (bp.uri === normalizeId(`xcon:default@${ctx.deps.config.domain}`)) {
          throw new ForbiddenDeleteParent(
            'the system default blueprint is the parent of every directly created conference',
          );
        }
        await commit(ctx, [{ op: 'delete', uri: bp.uri, expectedVersion: bp.version }]);
        return success(ctx, {});
      });
    }
  }
}
