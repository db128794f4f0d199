import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { unimplemented } from "../server/interceptors.js";

/**
 * Registers a service whose RPCs are declared in the contract but not built yet: each answers UNIMPLEMENTED
 * with a message that says when it arrives, so clients and reflection already see the full API.
 */
export function registerUnimplemented(router: ConnectRouter, service: DescService, plannedIn: string): void {
  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = `${service.typeName}/${method.name}`;
    impl[method.localName] =
      method.methodKind === "unary"
        ? () => Promise.reject(unimplemented(name, plannedIn))
        : async function* () {
            yield* [];
            throw unimplemented(name, plannedIn);
          };
  }
  router.service(service, impl as Partial<ServiceImpl<typeof service>>);
}
