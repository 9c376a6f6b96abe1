/**
 * @module optionsRequest (RFC 6503 §5.3.12): what this server supports, message by message.
 *
 * The operations listed are those the requester can actually use here: blueprint changes only
 * for administrators, sidebars only when the default backend supports them.
 */
import type { CcmpResponse } from '../ccmp/encode.ts';
import type { Operation } from '../ccmp/messages.ts';
import type { Ctx } from '../core/types.ts';
import { escapeText } from '../xml/serialize.ts';
import { success } from './common.ts';

export async function optionsRequest(ctx: Ctx): Promise<CcmpResponse> {
  const sidebars =
    ctx.deps.defaultConnector.capabilities.sidebars && 'createSidebar' in ctx.deps.defaultConnector;
  const messages: [string, Operation[], string][] = [
    ['blueprintsRequest', ['retrieve'], 'list the blueprints'],
    [
      'blueprintRequest',
      ctx.isAdmin ? ['retrieve', 'create', 'update', 'delete'] : ['retrieve'],
      'read a blueprint',
    ],
    ['confsRequest', ['retrieve'], 'list the conferences the user owns, moderates or is invited to'],
    ['confRequest', ['retrieve', 'create', 'update', 'delete'], 'manage conference objects'],
    ['usersRequest', ['retrieve', 'update'], 'read or change the users of a conference'],
    ['userRequest', ['retrieve', 'create', 'update', 'delete'], 'manage one user of a conference'],
    ['sidebarsByValRequest', ['retrieve'], 'list sidebars by value'],
    ['sidebarsByRefRequest', ['retrieve'], 'list sidebars by reference'],
    [
      'sidebarByValRequest',
      sidebars ? ['retrieve', 'create', 'update', 'delete'] : ['retrieve', 'update', 'delete'],
      'manage a sidebar by value',
    ],
    [
      'sidebarByRefRequest',
      sidebars ? ['retrieve', 'create', 'update', 'delete'] : ['retrieve', 'update', 'delete'],
      'manage a sidebar by reference',
    ],
  ];
  let body = '<options><standard-message-list>';
  for (const [name, ops, description] of messages) {
    body += `<standard-message><name>${name}</name><operations>${ops.map((o) => `<operation>${o}</operation>`).join('')}</operations>`;
    body += `<description>${escapeText(description)}</description></standard-message>`;
  }
  body += '</standard-message-list>';
  const extensions = [...ctx.deps.extensions.values()];
  if (extensions.length > 0) {
    body += '<extended-message-list>';
    for (const ext of extensions) {
      body += `<extended-message><name>${escapeText(ext.name)}</name>`;
      if (ext.operations.length)
        body += `<operations>${ext.operations.map((o) => `<operation>${o}</operation>`).join('')}</operations>`;
      body += `<schema-def>${escapeText(ext.schemaDef)}</schema-def>`;
      if (ext.description) body += `<description>${escapeText(ext.description)}</description>`;
      body += '</extended-message>';
    }
    body += '</extended-message-list>';
  }
  body += '</options>';
  return success(ctx, { body });
}
