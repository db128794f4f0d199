// The generated contract (protoc-gen-es), re-exported so users of the SDK need no other import.
export * from "@agentnet/gen/agentnet/v1/auth_pb.js";
export * from "@agentnet/gen/agentnet/v1/common_pb.js";
export * from "@agentnet/gen/agentnet/v1/messaging_pb.js";
export * from "@agentnet/gen/agentnet/v1/registry_pb.js";
export * from "@agentnet/gen/agentnet/v1/session_pb.js";
export * from "@agentnet/gen/agentnet/v1/stats_pb.js";
export * from "@agentnet/gen/agentnet/v1/token_pb.js";
export * from "@agentnet/gen/agentnet/v1/voice_pb.js";
