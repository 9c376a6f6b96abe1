/**
 * @module LDAP connections for the directory: the service connection, user binds, failures and counters.
 *
 * On Node one service connection is kept and shared by concurrent searches; with `reuse` off (Workers,
 * where a socket does not survive the request) every operation opens its own. Either way a broken
 * connection is dropped, never reused: the next operation opens a fresh one, so the directory
 * recovers by itself when the server comes back. A connection that was reused and fails is retried
 * once on a fresh one (the server may have restarted while it sat idle). After a connection failure
 * the directory fails fast for a moment rather than making every request wait for a timeout.
 */
import { Client, ResultCodeError, type SearchOptions, type SearchResult } from 'ldapts';
import { DirectoryUnavailable } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface LdapConnectionOptions {
  url: string;
  bindDn?: string;
  bindPassword?: string;
  /** PEM CA certificates trusted for ldaps://. */
  ca?: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  reuse: boolean;
  failFastMs: number;
  retryAfterSeconds: number;
  logger: Logger;
  now: () => number;
}

export interface LdapStats {
  /** Searches sent. */
  searches: number;
  /** Binds sent (service and user binds). */
  binds: number;
  /** searches + binds: what a cache is meant to save. */
  operations: number;
  /** Connections opened. */
  connections: number;
  /** Operations that failed for want of a working server. */
  failures: number;
}

/** LDAP result codes that mean "these credentials do not log in", not "the directory is broken". */
const REFUSED_BIND_CODES = new Set([
  48, // inappropriateAuthentication
  49, // invalidCredentials
  50, // insufficientAccessRights (some servers, for disabled accounts)
  53, // unwillingToPerform (locked or expired accounts)
]);

export class LdapConnections {
  private service: Client | undefined;
  private opening: Promise<Client> | undefined;
  private downUntil = 0;
  private down = false;
  private lastCause = '';
  readonly counters = { searches: 0, binds: 0, connections: 0, failures: 0 };

  constructor(private readonly options: LdapConnectionOptions) {}

  stats(): LdapStats {
    const c = this.counters;
    return { ...c, operations: c.searches + c.binds };
  }

  /**
   * Runs `work` with a search function that uses the service identity: over the shared connection,
   * or, when connections are not reused, over one connection opened for this piece of work only.
   * The search function throws DirectoryUnavailable when the server cannot answer.
   */
  async session<T>(work: (search: Search) => Promise<T>): Promise<T> {
    if (this.options.reuse) return work((base, options) => this.sharedSearch(base, options));
    let client: Client | undefined;
    const search: Search = async (base, options) => {
      this.failFast();
      try {
        client ??= await this.openService();
        return await this.send(client, base, options);
      } catch (err) {
        if (isAnswer(err)) throw this.unavailable(err, false);
        this.drop(client);
        client = undefined;
        throw this.unavailable(err, true);
      }
    };
    try {
      return await work(search);
    } finally {
      this.drop(client);
    }
  }

  private async sharedSearch(base: string, options: SearchOptions): Promise<SearchResult> {
    this.failFast();
    for (let attempt = 0; ; attempt++) {
      let client: Client | undefined;
      let reused = false;
      try {
        ({ client, reused } = await this.serviceClient());
        return await this.send(client, base, options);
      } catch (err) {
        if (isAnswer(err)) throw this.unavailable(err, false);
        this.drop(client);
        // A kept connection may have died while idle (server restart): one retry on a fresh one.
        if (reused && attempt === 0) continue;
        throw this.unavailable(err, true);
      }
    }
  }

  private async send(client: Client, base: string, options: SearchOptions): Promise<SearchResult> {
    this.counters.searches++;
    const result = await client.search(base, {
      timeLimit: Math.ceil(this.options.timeoutMs / 1000),
      ...options,
    });
    this.recovered();
    return result;
  }

  /** True when the DN and password bind; false when the server refuses them. */
  async bindAs(dn: string, password: string): Promise<boolean> {
    this.failFast();
    const client = this.newClient();
    try {
      this.counters.binds++;
      await client.bind(dn, password);
      this.recovered();
      return true;
    } catch (err) {
      if (err instanceof ResultCodeError && REFUSED_BIND_CODES.has(err.code)) return false;
      throw this.unavailable(err, !(err instanceof ResultCodeError) || isServerDown(err));
    } finally {
      this.drop(client);
    }
  }

  async close(): Promise<void> {
    const client = this.service;
    this.service = undefined;
    if (client) await client.unbind().catch(() => undefined);
  }

  private async serviceClient(): Promise<{ client: Client; reused: boolean }> {
    const current = this.service;
    if (current?.isBound) return { client: current, reused: true };
    this.opening ??= this.openService()
      .then((client) => {
        this.drop(this.service);
        this.service = client;
        return client;
      })
      .finally(() => {
        this.opening = undefined;
      });
    return { client: await this.opening, reused: false };
  }

  private async openService(): Promise<Client> {
    const client = this.newClient();
    const { bindDn, bindPassword } = this.options;
    try {
      this.counters.binds++;
      // An anonymous bind when no service account is configured: it also opens the connection.
      await client.bind(bindDn ?? '', bindPassword ?? '');
      return client;
    } catch (err) {
      this.drop(client);
      if (err instanceof ResultCodeError && REFUSED_BIND_CODES.has(err.code)) {
        throw this.unavailable(
          new Error(`the service bind as "${bindDn ?? '(anonymous)'}" was refused (${err.message})`),
          false,
        );
      }
      throw err;
    }
  }

  private newClient(): Client {
    this.counters.connections++;
    const { url, ca, timeoutMs, connectTimeoutMs } = this.options;
    return new Client({
      url,
      timeout: timeoutMs,
      connectTimeout: connectTimeoutMs,
      ...(url.startsWith('ldaps:')
        ? { tlsOptions: { minVersion: 'TLSv1.2' as const, ...(ca ? { ca } : {}) } }
        : {}),
    });
  }

  private drop(client: Client | undefined): void {
    if (!client) return;
    if (client === this.service) this.service = undefined;
    client.unbind().catch(() => undefined);
  }

  private failFast(): void {
    if (this.options.now() < this.downUntil) {
      this.counters.failures++;
      throw new DirectoryUnavailable(
        `LDAP directory ${this.options.url} is unavailable: ${this.lastCause}`,
        this.options.retryAfterSeconds,
      );
    }
  }

  private unavailable(err: unknown, serverDown: boolean): DirectoryUnavailable {
    if (err instanceof DirectoryUnavailable) return err;
    this.counters.failures++;
    const cause = describeCause(err, this.options);
    if (serverDown) {
      this.lastCause = cause;
      this.downUntil = this.options.now() + this.options.failFastMs;
      if (!this.down) this.options.logger.log('warn', 'ldap.unavailable', { url: this.options.url, cause });
      this.down = true;
    }
    return new DirectoryUnavailable(
      `LDAP directory ${this.options.url} is unavailable: ${cause}`,
      this.options.retryAfterSeconds,
      {
        cause: err,
      },
    );
  }

  private recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.options.logger.log('info', 'ldap.recovered', { url: this.options.url });
  }
}

export type Search = (base: string, options: SearchOptions) => Promise<SearchResult>;

/** Result codes that say the server, not the request, is the problem (busy, unavailable, shutting down). */
function isServerDown(err: ResultCodeError): boolean {
  return err.code === 51 || err.code === 52 || err.code === 80;
}

/** An LDAP answer (no such base, size limit...) says nothing bad about the connection or the server. */
function isAnswer(err: unknown): err is ResultCodeError {
  return err instanceof ResultCodeError && !isServerDown(err);
}

function describeCause(err: unknown, options: LdapConnectionOptions): string {
  if (err instanceof ResultCodeError) return `LDAP error ${err.code} (${firstLine(err.message)})`;
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const message = firstLine(err.message);
  if (/Operation timed out/i.test(message)) return `no answer within ${options.timeoutMs} ms`;
  if (/Connection timeout/i.test(message)) return `could not connect within ${options.connectTimeoutMs} ms`;
  if (code === 'ECONNREFUSED') return `connection refused (${message})`;
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return `TLS certificate not trusted: ${message} (set LDAP_CA_FILE to the CA that signed the server certificate)`;
  }
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
