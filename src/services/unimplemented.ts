import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { unimplemented } from "../server/interceptors.js";

/**
 * Handlers for RPCs that are declared in the contract but not built yet: each answers UNIMPLEMENTED with a
 * message that says when it arrives, so clients and reflection already see the full API.
 */
export function unimplementedHandlers<S extends DescService>(service: S, plannedIn: string): ServiceImpl<S> {
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
  return impl as ServiceImpl<S>;
}

export function registerUnimplemented(router: ConnectRouter, service: DescService, plannedIn: string): void {
  router.service(service, unimplementedHandlers(service, plannedIn));
}
