/** @module Errors raised while compiling or evaluating a CCMP `<xpathFilter>`. */

/**
 * `invalid`: the client sent an expression the gateway does not accept (CCMP 400).
 * `budget`: the expression was valid but cost too much to evaluate (CCMP 510).
 */
export type XPathFilterErrorKind = 'invalid' | 'budget';

/** A problem with the client's filter; the message is safe to return to the client. */
export class XPathFilterError extends Error {
  override readonly name = 'XPathFilterError';
  constructor(
    message: string,
    readonly kind: XPathFilterErrorKind = 'invalid',
  ) {
    super(message);
  }
}

/**
 * A stored document could not be read. This is the gateway's fault, not the client's, so it is not
 * an XPathFilterError and ends up as an internal error.
 */
export class XPathDocumentError extends Error {
  override readonly name = 'XPathDocumentError';
}

export const BUDGET_MESSAGE = 'xpathFilter evaluation exceeded its budget';

export function budgetExceeded(detail: string): XPathFilterError {
  return new XPathFilterError(`${BUDGET_MESSAGE} (${detail})`, 'budget');
}
