import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import type { Blobs } from "../blobs/index.js";
import type { History, Messaging } from "../messaging/index.js";
import { blobHandlers } from "./blobs.js";
import { deliveryHandlers } from "./messaging-delivery.js";
import { historyHandlers } from "./messaging-history.js";

/**
 * MessagingService, assembled from its parts: delivery (send, request/reply, subscribe, ack, receipts), history
 * (threads and search) and blobs.
 */
export function registerMessagingService(
  router: ConnectRouter,
  domains: { messaging: Messaging; history: History; blobs: Blobs },
  logger: Logger,
): void {
  router.service(MessagingService, {
    ...deliveryHandlers(domains.messaging, domains.blobs, logger),
    ...historyHandlers(domains.history, domains.blobs),
    ...blobHandlers(domains.blobs),
  });
}
