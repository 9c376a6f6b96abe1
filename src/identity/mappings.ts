/**
 * @module Identity mappings: the declarative rules in `mappings/*.json`, validated at start.
 *
 * One JSON schema (`mappings/schema.json`) describes the files. The schema catches shapes; the
 * checks here catch what a schema cannot (template syntax, contradicting role rules). Every problem
 * is reported with the file and the JSON path, all at once, so an operator fixes a file in one go.
 */
import schemaJson from '../../mappings/schema.json' with { type: 'json' };
import { childPath, validateJson, type SchemaNode } from './json-schema.ts';
import { parseTemplate, TemplateError } from './template.ts';

export interface MappingsDocument {
  $schema?: string;
  $comment?: string | string[];
  name?: string;
  directory: {
    domains: string[];
    loginAttribute?: string;
    addressLogin?: string;
    userFilter?: string;
  };
  identity: {
    sipUri: string;
    userId?: string;
    displayName?: string | string[];
  };
  accounts?: Record<string, string>;
  groups?: {
    memberOfAttribute?: string;
    search?: { base?: string; filter: string };
  };
  roles?: RoleRule[];
}

export type RoleRule = { role: string } & ({ group: string } | { attribute: string; value: string });

export interface MappingsIssue {
  file: string;
  path: string;
  message: string;
}

export class MappingsError extends Error {
  override readonly name = 'MappingsError';
  constructor(readonly issues: MappingsIssue[]) {
    super(
      `invalid identity mappings:\n${issues.map((i) => `  ${i.file}: ${i.path}: ${i.message}`).join('\n')}`,
    );
  }
}

export const MAPPINGS_SCHEMA = schemaJson as SchemaNode;

/** Parses and checks a mappings file; throws MappingsError naming the file and the path of each problem. */
export function parseMappings(text: string, file: string): MappingsDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MappingsError([{ file, path: '$', message: `is not JSON: ${(err as Error).message}` }]);
  }
  return checkMappings(value, file);
}

/** Checks an already parsed mappings document. */
export function checkMappings(value: unknown, file: string): MappingsDocument {
  const issues: MappingsIssue[] = validateJson(MAPPINGS_SCHEMA, value).map((i) => ({ file, ...i }));
  if (issues.length === 0) issues.push(...semanticIssues(value as MappingsDocument, file));
  if (issues.length > 0) throw new MappingsError(issues);
  return value as MappingsDocument;
}

/** The mappings used when none are configured: `uid` logins, `sip:{uid}@<domain>` addresses. */
export function defaultMappings(domain: string, otherDomains: readonly string[] = []): MappingsDocument {
  const domains = [...new Set([domain, ...otherDomains].map((d) => d.toLowerCase()))];
  return {
    name: 'default',
    directory: { domains, loginAttribute: 'uid' },
    identity: { sipUri: `sip:{uid}@${domain.toLowerCase()}`, displayName: ['{displayName}', '{cn}'] },
    groups: { memberOfAttribute: 'memberOf' },
    roles: [],
  };
}

function semanticIssues(doc: MappingsDocument, file: string): MappingsIssue[] {
  const issues: MappingsIssue[] = [];
  const template = (source: string, path: string, allowed?: readonly string[]) => {
    try {
      const t = parseTemplate(source);
      const foreign = allowed ? t.names.filter((n) => !allowed.includes(n)) : [];
      if (foreign.length > 0) {
        issues.push({ file, path, message: `may use only ${allowed?.map((n) => `{${n}}`).join(' and ')}` });
      }
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      issues.push({ file, path, message: err.message });
    }
  };
  const at = (...keys: (string | number)[]) => keys.reduce<string>((p, k) => childPath(p, k), '$');

  if (doc.directory.addressLogin !== undefined) {
    template(doc.directory.addressLogin, at('directory', 'addressLogin'), ['user', 'domain']);
  }
  if (doc.directory.userFilter !== undefined) {
    template(doc.directory.userFilter, at('directory', 'userFilter'), ['user']);
    if (!doc.directory.userFilter.includes('{user}')) {
      issues.push({ file, path: at('directory', 'userFilter'), message: 'must contain {user}' });
    }
  }
  template(doc.identity.sipUri, at('identity', 'sipUri'));
  if (doc.identity.userId !== undefined) template(doc.identity.userId, at('identity', 'userId'));
  const names = doc.identity.displayName;
  if (typeof names === 'string') template(names, at('identity', 'displayName'));
  else {
    names?.forEach((n, i) => {
      template(n, at('identity', 'displayName', i));
    });
  }
  for (const [connector, source] of Object.entries(doc.accounts ?? {})) {
    if (connector !== '$comment') template(source, at('accounts', connector));
  }
  const search = doc.groups?.search;
  if (search) {
    template(search.filter, at('groups', 'search', 'filter'), ['dn', 'login']);
    if (!/\{(dn|login)\}/.test(search.filter)) {
      issues.push({ file, path: at('groups', 'search', 'filter'), message: 'must contain {dn} or {login}' });
    }
  }
  (doc.roles ?? []).forEach((rule, i) => {
    if ('group' in rule && ('attribute' in rule || 'value' in rule)) {
      issues.push({
        file,
        path: at('roles', i),
        message: 'must name either a group or an attribute and value, not both',
      });
    }
    if ('group' in rule && !doc.groups) {
      issues.push({
        file,
        path: at('roles', i, 'group'),
        message: 'needs "groups" to say where memberships come from',
      });
    }
  });
  return issues;
}
