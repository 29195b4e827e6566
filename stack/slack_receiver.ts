/**
 * A local Slack incoming-webhook receiver for tests: accepts what Slack accepts (a JSON object
 * with `text` and/or Block Kit `blocks`), rejects what Slack rejects (400 `invalid_payload`),
 * records every accepted message, and can be told to answer 429 with Retry-After or 500, as
 * the real endpoint does under load.
 *
 * @module
 */

/** A message Slack would have posted. */
export interface SlackMessage {
  text?: string;
  blocks?: Array<Record<string, unknown>>;
  receivedAt: Date;
}

/** A response the receiver is told to give instead of accepting the message. */
export interface PlannedFailure {
  status: number;
  retryAfter?: number;
  echo?: boolean;
}

/** A running receiver. */
export interface SlackReceiver {
  /** The incoming-webhook URL to configure as SLACK_WEBHOOK_URL. */
  readonly url: string;
  readonly messages: SlackMessage[];
  /** Number of requests seen, accepted or not. */
  readonly requests: () => number;
  /**
   * Queues responses for the next requests, e.g. `[{ status: 429, retryAfter: 1 }]`; `echo`
   * answers with a body quoting the request's path and query, as some endpoints' errors do.
   */
  failNext(responses: Array<PlannedFailure>): void;
  stop(): Promise<void>;
}

function validPayload(body: unknown): body is { text?: string; blocks?: unknown[] } {
  if (!body || typeof body !== "object") return false;
  const { text, blocks } = body as { text?: unknown; blocks?: unknown };
  if (text === undefined && blocks === undefined) return false;
  if (text !== undefined && typeof text !== "string") return false;
  if (blocks !== undefined) {
    if (!Array.isArray(blocks) || blocks.length > 50) return false;
    if (!blocks.every((b) => b && typeof b === "object" && typeof b.type === "string")) {
      return false;
    }
  }
  return true;
}

/** Starts a receiver on a free loopback port. */
export function startSlackReceiver(): SlackReceiver {
  const messages: SlackMessage[] = [];
  const queued: PlannedFailure[] = [];
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    count++;
    const planned = queued.shift();
    if (planned) {
      await req.body?.cancel();
      const headers: HeadersInit = planned.retryAfter !== undefined
        ? { "retry-after": String(planned.retryAfter) }
        : {};
      const url = new URL(req.url);
      const body = planned.echo
        ? JSON.stringify({ error: `no webhook at ${url.pathname}${url.search}` })
        : planned.status === 429
        ? "rate_limited"
        : "service_unavailable";
      return new Response(body, { status: planned.status, headers });
    }
    if (req.method !== "POST") return new Response("invalid_method", { status: 405 });
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return new Response("invalid_payload", { status: 400 });
    }
    if (!validPayload(body)) return new Response("invalid_payload", { status: 400 });
    messages.push({ ...(body as SlackMessage), receivedAt: new Date() });
    return new Response("ok", { status: 200 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/services/T000/B000/XXXX`,
    messages,
    requests: () => count,
    failNext: (responses) => queued.push(...responses),
    stop: () => server.shutdown(),
  };
}
