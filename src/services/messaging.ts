import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import type { ServiceDeps } from "./index.js";
import { unimplementedHandlers } from "./unimplemented.js";

export type MessagingHandlers = ServiceImpl<typeof MessagingService>;

/**
 * MessagingService, assembled from its parts: delivery (send, request/reply, subscribe, ack, receipts), history
 * (threads and search) and blobs. Parts not built yet answer UNIMPLEMENTED.
 */
export function registerMessagingService(router: ConnectRouter, deps: ServiceDeps): void {
  const handlers: MessagingHandlers = {
    ...unimplementedHandlers(MessagingService, "issue #3 (agent network)"),
  };
  void deps;
  router.service(MessagingService, handlers);
}
