// The transport to Nomad's HTTP API: base address, TLS, token, namespace (and region, when one is configured) on every
// call, AbortSignal threaded into every undici request (with the call's W3C trace context), error translation in one
// place (nomad-error.ts). Typed endpoint modules
// (jobs.ts, allocations.ts, ...) build paths and call request()/stream(); nothing else in the plugin builds URLs.

import { Agent, type Dispatcher } from "undici";
import { errorFromNetwork, errorFromStatus, subjectOfPath } from "./nomad-error.js";
import { StreamBody } from "./stream-body.js";
import { traceHeaders, traceOf } from "../trace-context.js";

export interface NomadTlsOptions {
  /** PEM CA bundle to verify Nomad's certificate. */
  ca?: string;
  /** PEM client certificate and key for mTLS. */
  cert?: string;
  key?: string;
  serverName?: string;
  skipVerify?: boolean;
}

export interface NomadHttpOptions {
  /** e.g. http://127.0.0.1:4646 */
  address: string;
  token?: string;
  /** Sent as ?region= only when set. Unset, the agent answers for its own region (Nomad's Go client does the same):
   *  a region the cluster does not know is Nomad's 500 "No path to region" on every call. */
  region?: string;
  namespace?: string;
  tls?: NomadTlsOptions;
  /** Bound (ms) on a JSON request's wait for the answer's headers and on each gap in its body, whatever the caller's
   *  signal says; a blocking query's wait (plus Nomad's jitter) is added. Default 60 s. Streams are not bounded. */
  defaultTimeoutMs?: number;
  dispatcher?: Dispatcher;
}

export type Query = Record<string, string | number | boolean | undefined | string[]>;

export interface RequestOptions {
  query?: Query;
  /** JSON-encoded as the request body. */
  body?: unknown;
  signal?: AbortSignal;
  /** Describes the call in error messages, e.g. "read job cp-x". Default "<METHOD> <path>". */
  what?: string;
  /** Skip the namespace/region query parameters (agent and status endpoints). */
  global?: boolean;
  headers?: Record<string, string>;
  /** Non-2xx statuses that are answers rather than errors (e.g. 500 from /v1/agent/health). Their body is the
   *  parsed JSON when it parses (Nomad may omit the JSON content type on error paths), else the raw text. */
  acceptStatus?: readonly number[];
}

export interface NomadResponse<T> {
  status: number;
  body: T;
  /** X-Nomad-Index, for blocking queries. */
  index: bigint | undefined;
  headers: Record<string, string | string[] | undefined>;
}

export interface NomadStream {
  status: number;
  /** The chunks as they arrive; iterate it to the end, or destroy() it (ending iteration early destroys it too). */
  body: StreamBody;
  headers: Record<string, string | string[] | undefined>;
}

export class NomadHttp {
  readonly address: URL;
  /** undefined: the region of the agent the plugin talks to. */
  readonly region: string | undefined;
  readonly namespace: string;
  readonly #token: string | undefined;
  /** The headers of a bodiless request with no extra headers: the common case gets no per-call object. */
  readonly #plainHeaders: Record<string, string>;
  readonly #dispatcher: Dispatcher;
  readonly #defaultTimeoutMs: number;
  readonly tls: NomadTlsOptions | undefined;
  readonly #closing = new AbortController();
  #writeIndex = 0n;

  constructor(options: NomadHttpOptions) {
    this.address = new URL(options.address);
    this.region = options.region || undefined;
    this.namespace = options.namespace ?? "default";
    this.#token = options.token || undefined;
    this.#plainHeaders = this.authHeaders();
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.tls = options.tls;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connections: 64,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        // Log and event streams idle for long stretches between heartbeats; the caller's signal bounds them.
        bodyTimeout: 0,
        headersTimeout: 0,
        connect: tlsConnectOptions(options.tls),
      });
  }

  /** Headers that authenticate a call (also used for the exec WebSocket). Never log them. */
  authHeaders(): Record<string, string> {
    return this.#token ? { "X-Nomad-Token": this.#token } : {};
  }

  /** Whether a token is configured (never the token itself). */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  get dispatcher(): Dispatcher {
    return this.#dispatcher;
  }

  /** Builds the absolute URL of an API path with namespace and the configured region (unless global) and the query. */
  url(path: string, query: Query = {}, global = false): URL {
    const u = new URL(path, this.address);
    if (!global) {
      if (this.region && query.region === undefined) u.searchParams.set("region", this.region);
      if (this.namespace && query.namespace === undefined) u.searchParams.set("namespace", this.namespace);
    }
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, item);
      else u.searchParams.set(k, String(v));
    }
    return u;
  }

  /** A JSON request. Non-2xx answers throw a ProviderError with the mapped code. */
  async request<T>(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<NomadResponse<T>> {
    const what = options.what ?? `${method} ${path}`;
    const signal = options.signal;
    // No request hangs forever: undici's own headers/body timers (coarse, ~1 s ticks, armed on the socket it already
    // has) bound the wait for the answer and every gap in its body. A timeout signal combined with the caller's on
    // every call cost two signals, a 60 s timer and listeners per request; the caller's signal alone still aborts.
    const timeoutMs = this.#defaultTimeoutMs + blockingWaitMs(options.query);
    let res: Collected;
    try {
      res = await this.#collect(method, this.url(path, options.query, options.global), options, signal, timeoutMs);
    } catch (err) {
      throw this.#scrub(errorFromNetwork(err, what, signal));
    }
    const text = res.text;
    const accepted = options.acceptStatus?.includes(res.statusCode) === true;
    if (accepted && (res.statusCode < 200 || res.statusCode >= 300)) {
      return { status: res.statusCode, body: parseLenient(text) as T, index: undefined, headers: res.headers };
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw this.#scrub(errorFromStatus(res.statusCode, text, what, this.#subject(path, options)));
    let body: T;
    try {
      body = (text === "" ? undefined : JSON.parse(text)) as T;
    } catch {
      throw this.#scrub(errorFromStatus(502, `malformed JSON from Nomad: ${text.slice(0, 200)}`, what));
    }
    const index = parseIndex(res.headers["x-nomad-index"]);
    if (index !== undefined && method !== "GET" && index > this.#writeIndex && eventfulWrite.test(path)) this.#writeIndex = index;
    return { status: res.statusCode, body, index, headers: res.headers };
  }

  /**
   * The highest X-Nomad-Index of the writes this transport made that Nomad publishes as Job, Allocation, Deployment
   * or Evaluation events (job register, stop, purge, scale, revert; deployment promote, fail). A reader fed by the
   * event stream has seen every such write of this process once it has applied this index (read-your-writes).
   */
  get lastWriteIndex(): bigint {
    return this.#writeIndex;
  }

  /** Aborts when the transport closes: long-lived followers (the instance cache) stop with it. */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  /** A streaming request (logs, event stream). The caller reads body to its end, or stops reading and destroys it. */
  async stream(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<NomadStream> {
    const what = options.what ?? `${method} ${path}`;
    const signal = options.signal;
    let res: { statusCode: number; headers: NomadStream["headers"]; body: StreamBody };
    try {
      // No timeout: a followed stream lives as long as its caller wants; the caller's signal ends it.
      res = await this.#open(method, this.url(path, options.query, options.global), options, signal);
    } catch (err) {
      throw this.#scrub(errorFromNetwork(err, what, signal));
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      let text = "";
      try {
        for await (const chunk of res.body) text += chunk.toString("utf8");
      } catch {
        // the status says enough
      }
      throw this.#scrub(errorFromStatus(res.statusCode, text, what, this.#subject(path, options)));
    }
    return { status: res.statusCode, body: res.body, headers: res.headers };
  }

  /** Sends a streaming request; resolves with the answer's status and headers and its body still arriving. */
  #open(method: Dispatcher.HttpMethod, url: URL, options: RequestOptions, signal: AbortSignal | undefined) {
    return new Promise<{ statusCode: number; headers: NomadStream["headers"]; body: StreamBody }>((resolve, reject) => {
      const body = new StreamBody();
      let started = false;
      this.#dispatch(method, url, options, signal, undefined, {
        start: (controller) => body.attach(controller),
        response: (statusCode, headers) => {
          started = true;
          resolve({ statusCode, headers, body });
        },
        data: (chunk) => body.push(chunk),
        end: () => body.end(),
        error: (err) => (started ? body.fail(err) : reject(err)),
      });
    });
  }

  /** One request whose whole answer is collected as text: no body stream for answers that are read in full anyway. */
  #collect(method: Dispatcher.HttpMethod, url: URL, options: RequestOptions, signal: AbortSignal | undefined, timeoutMs: number): Promise<Collected> {
    return new Promise<Collected>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let statusCode = 0;
      let headers: Collected["headers"] = {};
      this.#dispatch(method, url, options, signal, timeoutMs, {
        response: (status, h) => {
          statusCode = status;
          headers = h;
        },
        data: (chunk) => chunks.push(chunk),
        end: () => resolve({ statusCode, headers, text: Buffer.concat(chunks).toString("utf8") }),
        error: reject,
      });
    });
  }

  /** Dispatches one request to `sink`, the caller's signal aborting it; error() gets network failures and aborts. */
  #dispatch(
    method: Dispatcher.HttpMethod,
    url: URL,
    options: RequestOptions,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    sink: ResponseSink,
  ): void {
    if (signal?.aborted) return sink.error(signal.reason);
    let controller: Dispatcher.DispatchController | undefined;
    const onAbort = () => {
      // Still queued for a connection: fail now; onRequestStart aborts the request once it gets one.
      if (controller) controller.abort(signal!.reason);
      else sink.error(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal?.removeEventListener("abort", onAbort);
    this.#dispatcher.dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers: this.#headers(options),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        // undefined keeps the dispatcher's (unbounded) timeouts: streams idle between heartbeats as long as they like.
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      {
        onRequestStart(c) {
          controller = c;
          sink.start?.(c);
          if (signal?.aborted) c.abort(signal.reason);
        },
        onResponseStart(_c, status, headers) {
          sink.response(status, headers);
        },
        onResponseData(_c, chunk) {
          sink.data(chunk);
        },
        onResponseEnd() {
          settle();
          sink.end();
        },
        onResponseError(_c, err) {
          settle();
          sink.error(err);
        },
      },
    );
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.#dispatcher.close();
  }

  #headers(options: RequestOptions): Record<string, string> {
    const trace = traceOf(options.signal);
    if (options.body === undefined && options.headers === undefined && !trace) return this.#plainHeaders;
    return {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
      ...(trace ? traceHeaders(trace) : {}),
      ...this.authHeaders(),
    };
  }

  /** Headers of a request made for the call `signal` belongs to: authentication plus its trace context. */
  callHeaders(signal: AbortSignal | undefined): Record<string, string> {
    const trace = traceOf(signal);
    return trace ? { ...traceHeaders(trace), ...this.authHeaders() } : this.authHeaders();
  }

  /** What a failed call was about (its job), in the namespace the call used. */
  #subject(path: string, options: RequestOptions) {
    const ns = options.query?.namespace;
    return subjectOfPath(path, typeof ns === "string" ? ns : options.global ? undefined : this.namespace);
  }

  /** Guarantees the token never leaves in an error message. */
  #scrub<E extends Error>(err: E): E {
    const token = this.#token;
    if (token && err.message.includes(token)) {
      err.message = err.message.split(token).join("[redacted]");
    }
    return err;
  }
}

/** What #dispatch reports of one request. */
interface ResponseSink {
  start?(controller: Dispatcher.DispatchController): void;
  response(status: number, headers: Record<string, string | string[] | undefined>): void;
  data(chunk: Buffer): void;
  end(): void;
  error(err: unknown): void;
}

interface Collected {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function parseLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** How long Nomad may hold a blocking read (its ?wait=Nms, plus the up to wait/16 of jitter Nomad adds), else 0. */
function blockingWaitMs(query: Query | undefined): number {
  const wait = query?.wait;
  if (typeof wait !== "string") return 0;
  const m = /^(\d+)ms$/.exec(wait);
  return m ? Math.ceil(Number(m[1]) * (17 / 16)) : 0;
}

/** Write paths whose index Nomad publishes on the event stream (not variables, client or plan/validate calls). */
const eventfulWrite = /^\/v1\/(jobs$|job\/[^/]+(\/(scale|revert|dispatch|evaluate))?$|deployment\/(promote|fail|pause)\/)/;

function parseIndex(value: string | string[] | undefined): bigint | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v || !/^\d+$/.test(v)) return undefined;
  return BigInt(v);
}

function tlsConnectOptions(tls: NomadTlsOptions | undefined): Agent.Options["connect"] {
  if (!tls) return undefined;
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    servername: tls.serverName,
    rejectUnauthorized: !tls.skipVerify,
  };
}
