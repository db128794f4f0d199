import { BusError } from "./errors.js";

// Both buses validate the same way before anything leaves the process, so a subject that works on the
// in-process bus cannot fail later on NATS (which would otherwise only log a server -ERR).

const WHITESPACE = /\s/;

function splitSubject(subject: string, what: string): string[] {
  if (typeof subject !== "string" || subject.length === 0) {
    throw new BusError("invalid_subject", `${what} must not be empty`);
  }
  if (WHITESPACE.test(subject)) {
    throw new BusError("invalid_subject", `${what} ${JSON.stringify(subject)} contains whitespace`);
  }
  const tokens = subject.split(".");
  if (tokens.some((t) => t.length === 0)) {
    throw new BusError("invalid_subject", `${what} ${JSON.stringify(subject)} has an empty token`);
  }
  return tokens;
}

/** A subject messages are sent to: no wildcards. */
export function publishTokens(subject: string): string[] {
  const tokens = splitSubject(subject, "publish subject");
  if (tokens.some((t) => t === "*" || t === ">")) {
    throw new BusError("invalid_subject", `publish subject ${JSON.stringify(subject)} contains a wildcard`);
  }
  return tokens;
}

/** A subscription filter: `*` stands for one token, `>` (last token only) for one or more. */
export function filterTokens(subject: string): string[] {
  const tokens = splitSubject(subject, "subscription subject");
  const gt = tokens.indexOf(">");
  if (gt !== -1 && gt !== tokens.length - 1) {
    throw new BusError("invalid_subject", `subscription subject ${JSON.stringify(subject)}: '>' must be the last token`);
  }
  return tokens;
}

export function validateQueue(queue: string | undefined): void {
  if (queue === undefined) return;
  if (queue.length === 0 || WHITESPACE.test(queue)) {
    throw new BusError("invalid_subject", `queue group ${JSON.stringify(queue)} must be non-empty without whitespace`);
  }
}

/** Same rules as NATS headers (RFC 822 field names; no CR/LF in values, which are trimmed). */
export function normalizeHeaders(headers: Record<string, string> | undefined): Map<string, string> | undefined {
  if (headers === undefined) return undefined;
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(headers)) {
    if (key.length === 0) throw new BusError("invalid_header", "header name must not be empty");
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c < 33 || c > 126 || c === 58) {
        throw new BusError("invalid_header", `header name ${JSON.stringify(key)} has an invalid character`);
      }
    }
    if (typeof value !== "string" || /[\r\n]/.test(value)) {
      throw new BusError("invalid_header", `header ${JSON.stringify(key)} must be a string without CR or LF`);
    }
    out.set(key.toLowerCase(), value.trim());
  }
  return out.size === 0 ? undefined : out;
}

interface Node<T> {
  literal: Map<string, Node<T>>;
  star: Node<T> | undefined;
  /** Subscriptions ending in `>` at this level. */
  rest: Set<T>;
  exact: Set<T>;
}

function node<T>(): Node<T> {
  return { literal: new Map(), star: undefined, rest: new Set(), exact: new Set() };
}

function isEmpty<T>(n: Node<T>): boolean {
  return n.literal.size === 0 && n.star === undefined && n.rest.size === 0 && n.exact.size === 0;
}

/**
 * Subscription index by token (like the server's sublist), so matching costs the depth of the subject
 * rather than the number of subscriptions. Emptied branches are pruned: request inboxes come and go.
 */
export class SubjectTrie<T> {
  private readonly root: Node<T> = node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  insert(tokens: readonly string[], value: T): void {
    let n = this.root;
    for (const t of tokens) {
      if (t === ">") {
        n.rest.add(value);
        this.count++;
        return;
      }
      if (t === "*") {
        n = n.star ??= node();
      } else {
        let next = n.literal.get(t);
        if (next === undefined) {
          next = node();
          n.literal.set(t, next);
        }
        n = next;
      }
    }
    n.exact.add(value);
    this.count++;
  }

  remove(tokens: readonly string[], value: T): void {
    const path: Array<[Node<T>, string]> = [];
    let n: Node<T> | undefined = this.root;
    let removed = false;
    for (const t of tokens) {
      if (t === ">") {
        removed = n.rest.delete(value);
        break;
      }
      path.push([n, t]);
      n = t === "*" ? n.star : n.literal.get(t);
      if (n === undefined) return;
    }
    if (!removed && tokens[tokens.length - 1] !== ">") removed = n.exact.delete(value);
    if (!removed) return;
    this.count--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, t] = path[i]!;
      const child = t === "*" ? parent.star : parent.literal.get(t);
      if (child === undefined || !isEmpty(child)) break;
      if (t === "*") parent.star = undefined;
      else parent.literal.delete(t);
    }
  }

  match(tokens: readonly string[], out: T[] = []): T[] {
    this.walk(this.root, tokens, 0, out);
    return out;
  }

  private walk(n: Node<T>, tokens: readonly string[], i: number, out: T[]): void {
    if (i === tokens.length) {
      for (const v of n.exact) out.push(v);
      return;
    }
    for (const v of n.rest) out.push(v);
    const lit = n.literal.get(tokens[i]!);
    if (lit !== undefined) this.walk(lit, tokens, i + 1, out);
    if (n.star !== undefined) this.walk(n.star, tokens, i + 1, out);
  }
}
