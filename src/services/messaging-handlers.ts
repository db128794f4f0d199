import type { ServiceImpl } from "@connectrpc/connect";
import type { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";

/** MessagingService's handlers; its parts (delivery, history, blobs) each implement a slice of them. */
export type MessagingHandlers = ServiceImpl<typeof MessagingService>;
