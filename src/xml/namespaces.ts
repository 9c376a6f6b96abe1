/** @module XML namespace URIs and the prefixes the gateway emits. */

export const NS = {
  ccmp: 'urn:ietf:params:xml:ns:xcon-ccmp',
  /** The namespace printed in every RFC 6504 example; accepted on input only. */
  ccmpRfc6504: 'urn:ietf:params:xml:ns:xcon:ccmp',
  info: 'urn:ietf:params:xml:ns:conference-info',
  xcon: 'urn:ietf:params:xml:ns:xcon-conference-info',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xml: 'http://www.w3.org/XML/1998/namespace',
  /** The gateway's own extension namespace (e.g. federation notes in confsResponse). */
  gateway: 'urn:ccmp-gateway:params:xml:ns:gateway',
} as const;

/** Prefixes used on output. Linphone compares `xcon:` element names literally. */
export const OUTPUT_PREFIXES: ReadonlyMap<string, string> = new Map([
  [NS.ccmp, 'ccmp'],
  [NS.info, 'info'],
  [NS.xcon, 'xcon'],
  [NS.xsi, 'xsi'],
  [NS.xml, 'xml'],
  [NS.gateway, 'gw'],
]);

/** Input namespaces that mean the CCMP namespace. */
export function isCcmpNamespace(uri: string): boolean {
  return uri === NS.ccmp || uri === NS.ccmpRfc6504;
}
