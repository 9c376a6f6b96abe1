/** The part of autocannon 8's API that bench/run.ts uses (the package ships no types). */
declare module 'autocannon' {
  export interface Client {
    setHeadersAndBody(headers: Record<string, string>, body: string): void;
  }

  export interface RequestSpec {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  }

  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    requests?: RequestSpec[];
    setupClient?: (client: Client) => void;
  }

  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
  }

  export interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { sent: number };
    throughput: Histogram;
  }

  export interface Instance extends Promise<Result> {
    stop(): void;
    /** Every answer, with its latency in (fractional) milliseconds. */
    on(
      event: 'response',
      listener: (client: Client, status: number, bytes: number, latencyMs: number) => void,
    ): void;
  }

  function autocannon(options: Options): Instance;
  export default autocannon;
}
