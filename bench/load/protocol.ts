import type { OpenSpec, StepResult, StepSpec } from "./messaging-load.js";

/** Coordinator → load process. */
export type Command =
  | { id: number; type: "open"; spec: OpenSpec }
  | { id: number; type: "step"; step: StepSpec }
  | { id: number; type: "close" };

/** A command before the pool numbers it. */
export type Request = Command extends infer C ? (C extends Command ? Omit<C, "id"> : never) : never;

/** Load process → coordinator: the answer to command `id`. */
export type Answer = { id: number; ok: true; result?: StepResult } | { id: number; ok: false; error: string };
