// The seed's address forms: "acct_…" / "account:acct_…" (an account), "@name" / "name" / "username:name" (a
// username), "capability:chat" (one online agent offering it).
import { create } from "@bufbuild/protobuf";
import { type Recipient, RecipientSchema } from "@agentnet/gen/agentnet/v1/messaging_pb.js";

export type Target = string | { accountId: string } | { username: string } | { capability: string };

export function toRecipient(target: Target): Recipient {
  if (typeof target !== "string") {
    if ("accountId" in target) return create(RecipientSchema, { target: { case: "accountId", value: target.accountId } });
    if ("username" in target) return create(RecipientSchema, { target: { case: "username", value: target.username } });
    return create(RecipientSchema, { target: { case: "capability", value: target.capability } });
  }
  const t = target.trim();
  if (t === "") throw new TypeError("empty recipient: give an account id, @username or capability:<name>");
  if (t.startsWith("account:")) return toRecipient({ accountId: t.slice("account:".length) });
  if (t.startsWith("capability:")) return toRecipient({ capability: t.slice("capability:".length) });
  if (t.startsWith("username:")) return toRecipient({ username: t.slice("username:".length) });
  if (/^acct_[0-9A-Za-z]+$/.test(t)) return toRecipient({ accountId: t });
  return toRecipient({ username: t });
}

/** How a recipient reads in logs and tables: "acct_…", "@name" or "capability:name". */
export function describeRecipient(r: Recipient | undefined): string {
  switch (r?.target.case) {
    case "accountId":
      return r.target.value;
    case "username":
      return r.target.value.startsWith("@") ? r.target.value : `@${r.target.value}`;
    case "capability":
      return `capability:${r.target.value}`;
    default:
      return "";
  }
}
