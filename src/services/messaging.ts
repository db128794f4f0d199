import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { Messaging } from "../messaging/messaging.js";
import { blobHandlers } from "./blobs.js";
import type { ServiceDeps } from "./index.js";
import { deliveryHandlers, type SessionHolder } from "./messaging-delivery.js";
import { historyHandlers } from "./messaging-history.js";

export type MessagingHandlers = ServiceImpl<typeof MessagingService>;

/**
 * MessagingService, assembled from its parts: delivery (send, request/reply, subscribe, ack, receipts), history
 * (threads and search) and blobs.
 */
export function registerMessagingService(router: ConnectRouter, deps: ServiceDeps, presence?: SessionHolder): Messaging {
  const messaging = new Messaging({ db: deps.store.db, bus: deps.bus, logger: deps.logger, config: deps.config });
  const sweeping = messaging.start(deps.shutdownSignal);
  deps.onClose(() => sweeping);
  const handlers: MessagingHandlers = {
    ...deliveryHandlers(messaging, presence, deps.store.db),
    ...historyHandlers(deps),
    ...blobHandlers(deps),
  };
  router.service(MessagingService, handlers);
  return messaging;
}
