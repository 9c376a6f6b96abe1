/** @module extendedRequest (RFC 6503 §5.3.11): registered extensions, 501 for the others. */
import type { CcmpResponse } from '../ccmp/encode.ts';
import type { Ctx } from '../core/types.ts';
import { NotImplemented } from '../errors.ts';
import { escapeText } from '../xml/serialize.ts';
import { success } from './common.ts';

export function extensionNameBody(name: string, rest = ''): string {
  return `<extensionName>${escapeText(name)}</extensionName>${rest}`;
}

export async function extendedRequest(ctx: Ctx): Promise<CcmpResponse> {
  const name = ctx.request.extensionName ?? '';
  const extension = ctx.deps.extensions.get(name);
  if (!extension) throw new NotImplemented(`extension "${name}" is not implemented by this server`);
  const result = await extension.handle(ctx);
  return success(ctx, {
    ...(result.confObjID !== undefined ? { confObjID: result.confObjID } : {}),
    ...(result.version !== undefined ? { version: result.version } : {}),
    body: extensionNameBody(name, result.body ?? ''),
  });
}
