/**
 * @module CCMP extensions (extendedRequest, RFC 6503 §5.3.11).
 *
 * An extension is registered under its extensionName and advertised in optionsResponse.
 * Unregistered names are answered with 501.
 */
import type { Operation } from '../ccmp/messages.ts';
import type { Ctx } from './types.ts';

export interface ExtensionResult {
  /** Extension elements (serialized, in their own namespace) to put after extensionName. */
  body?: string;
  version?: number;
  confObjID?: string;
}

export interface Extension {
  name: string;
  operations: Operation[];
  /** URL of the extension's schema, advertised as schema-def. */
  schemaDef: string;
  description?: string;
  handle(ctx: Ctx): Promise<ExtensionResult>;
}
