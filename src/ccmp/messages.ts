/** @module CCMP message types and the decoded request shape (RFC 6503 §5). */
import type { XElement } from '../xml/tree.ts';

export const MESSAGE_TYPES = [
  'options',
  'blueprints',
  'blueprint',
  'confs',
  'conf',
  'users',
  'user',
  'sidebarsByVal',
  'sidebarsByRef',
  'sidebarByVal',
  'sidebarByRef',
  'extended',
] as const;

export type MessageType = (typeof MESSAGE_TYPES)[number];

export const OPERATIONS = ['retrieve', 'create', 'update', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The payload element each message carries in its specialized element (request and response). */
export const INFO_ELEMENT: Partial<Record<MessageType, string>> = {
  blueprint: 'blueprintInfo',
  conf: 'confInfo',
  users: 'usersInfo',
  user: 'userInfo',
  sidebarByVal: 'sidebarByValInfo',
  sidebarByRef: 'sidebarByRefInfo',
};

export interface Subject {
  username?: string;
  password?: string;
}

export interface CcmpRequest {
  type: MessageType;
  subject?: Subject;
  /** Trimmed; absent when missing or empty. */
  confUserID?: string;
  confObjID?: string;
  operation?: Operation;
  conferencePassword?: string;
  /** confInfo, userInfo, usersInfo, blueprintInfo or sidebarBy*Info. */
  info?: XElement;
  xpathFilter?: string;
  extensionName?: string;
  /** The specialized element itself (ccmp:xxxRequest), for extensions. */
  body?: XElement;
}

/** What could be read of a request that turned out invalid, to address the error response. */
export interface PartialRequest {
  type?: MessageType;
  confUserID?: string;
  confObjID?: string;
  operation?: Operation;
}
