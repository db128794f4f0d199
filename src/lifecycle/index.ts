export { type PeriodicOptions, runPeriodically } from "./periodic.js";
export type { Service } from "./service.js";
export { sleep } from "./sleep.js";
export { Supervisor } from "./supervisor.js";
