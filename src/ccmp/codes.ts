/** @module The CCMP response codes of the IANA registry (RFC 6503 §5.4, §12.5.2). */

export const RESPONSE_CODES = {
  200: 'Success',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Object Not Found',
  409: 'Conflict',
  420: 'User Not Found',
  421: 'Invalid confUserID',
  422: 'Invalid Conference Password',
  423: 'Conference Password Required',
  424: 'Authentication Required',
  425: 'Forbidden Delete Parent',
  426: 'Forbidden Change Protected',
  427: 'Invalid Domain Name',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  510: 'Request Timeout',
  511: 'Resources Not Available',
} as const;

export type ResponseCode = keyof typeof RESPONSE_CODES;
export type ErrorCode = Exclude<ResponseCode, 200>;
