export { NetworkStats, type NetworkStatsFigures } from "./network-stats.js";
