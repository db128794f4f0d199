// A chat session as the console shows it, built from its events: posted texts, answers (their deltas joined into
// one growing bubble until the whole response replaces it), notices. Kept in sessionStorage with the last seq seen,
// so a reload shows the conversation at once and resumes the stream after that seq instead of replaying it.
import { type SessionEvent, SessionEventType, SessionRole } from "@agentnet/client/gen";

export interface ChatItem {
  key: string;
  kind: "text" | "answer" | "partial" | "notice" | "error";
  sender: string;
  content: string;
  user: boolean;
}

export interface ChatLog {
  lastSeq: number;
  items: ChatItem[];
  ended: boolean;
}

const MAX_ITEMS = 500;
const storageKey = (sessionId: string) => `agentnet.console.chat.${sessionId}`;

export function loadChatLog(sessionId: string): ChatLog {
  try {
    const raw = sessionStorage.getItem(storageKey(sessionId));
    if (raw) {
      const log = JSON.parse(raw) as ChatLog;
      if (typeof log.lastSeq === "number" && Array.isArray(log.items)) return log;
    }
  } catch {
    // A broken entry: start over from the beginning of the session.
  }
  return { lastSeq: 0, items: [], ended: false };
}

export function saveChatLog(sessionId: string, log: ChatLog): void {
  try {
    sessionStorage.setItem(storageKey(sessionId), JSON.stringify(log));
  } catch {
    // Storage full: the view still works, a reload replays from the start.
  }
}

export function addEvent(log: ChatLog, e: SessionEvent): ChatLog {
  const seq = Number(e.seq);
  if (e.type === SessionEventType.PING || seq <= log.lastSeq) return log;
  const items = log.items.slice();
  const user = e.role === SessionRole.USER;
  const partialKey = `partial:${e.responseId}`;
  switch (e.type) {
    case SessionEventType.DELTA: {
      const i = items.findIndex((it) => it.key === partialKey);
      if (i >= 0) items[i] = { ...(items[i] as ChatItem), content: (items[i] as ChatItem).content + e.content };
      else items.push({ key: partialKey, kind: "partial", sender: e.sender, content: e.content, user: false });
      break;
    }
    case SessionEventType.RESPONSE: {
      const answer: ChatItem = { key: `seq:${seq}`, kind: "answer", sender: e.sender, content: e.content, user: false };
      const i = items.findIndex((it) => it.key === partialKey);
      if (i >= 0) items[i] = answer;
      else items.push(answer);
      break;
    }
    case SessionEventType.TEXT:
      items.push({ key: `seq:${seq}`, kind: "text", sender: e.sender, content: e.content, user });
      break;
    case SessionEventType.ERROR:
      items.push({
        key: `seq:${seq}`,
        kind: "error",
        sender: e.sender,
        content: `${e.content}${e.reason ? ` (${e.reason})` : ""}`,
        user: false,
      });
      break;
    default:
      items.push({
        key: `seq:${seq}`,
        kind: "notice",
        sender: e.sender,
        content: e.content || (e.reason ? `ended: ${e.reason}` : ""),
        user: false,
      });
  }
  return { lastSeq: seq, items: items.slice(-MAX_ITEMS), ended: log.ended || e.type === SessionEventType.STOP };
}
