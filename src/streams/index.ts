export { type Keepalive, LiveStream, type LiveStreamOptions, type Overflow } from "./live-stream.js";
export { type Outlet, type Producer, PushSource, mapOutlet } from "./push-source.js";
